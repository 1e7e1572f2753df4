#!/usr/bin/env bash
# Deploy the shop to the current kubectl context, in order: namespace, configuration and
# network policies; the databases and the Redis cache (waiting until each is ready); the
# migration Job (waiting until it completes); the API and the events relay (waiting for
# their rollouts); the scheduled jobs (CronJobs). Then prints the public address. Idempotent: run it again
# to roll out a new image or configuration.
#
#   deploy/deploy-k8s.sh                                   # make k8s-deploy
#   IMAGE=registry.example.com/shop/ecommerce-api:1.2.0 deploy/deploy-k8s.sh
#
# Needs kubectl (with its built-in kustomize) and deploy/k8s/secrets.env (make k8s-secrets).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KUSTOMIZE_DIR="${KUSTOMIZE_DIR:-$here/k8s}"
NAMESPACE="${NAMESPACE:-ecommerce}"
TIMEOUT="${TIMEOUT:-600s}"
# The API image as kustomization.yaml pins it; IMAGE replaces it for this deployment.
PINNED_IMAGE_NAME="registry.example.com/shop/ecommerce-api"
IMAGE="${IMAGE:-}"

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v kubectl >/dev/null || die "kubectl is not installed"
[[ -f "$KUSTOMIZE_DIR/secrets.env" ]] \
    || die "$KUSTOMIZE_DIR/secrets.env is missing: run 'make k8s-secrets' (or fill in secrets.env.example)"
# Every value is required but Stripe's two keys: both empty leaves Stripe off.
if grep -E '^[A-Z_]+=$|<[A-Z_]+>' "$KUSTOMIZE_DIR/secrets.env" | grep -qvE '^STRIPE_(SECRET_KEY|WEBHOOK_SECRET)=$'; then
    die "$KUSTOMIZE_DIR/secrets.env has empty values or <placeholders>"
fi
kubectl version >/dev/null || die "no cluster answers for kubectl context '$(kubectl config current-context 2>/dev/null || echo none)'"

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$KUSTOMIZE_DIR" >"$rendered"
if [[ -n "$IMAGE" ]]; then
    [[ "$IMAGE" =~ (:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})$ ]] || die "IMAGE must carry a tag or a digest: $IMAGE"
    [[ "$IMAGE" != *:latest ]] || die "IMAGE must be pinned, not :latest"
    sed -i -E "s#^([[:space:]]*(- )?image: )${PINNED_IMAGE_NAME}[:@][^[:space:]]+\$#\\1${IMAGE}#" "$rendered"
fi

# Every object carries app.kubernetes.io/component; each phase applies some of them.
apply_component() {
    kubectl apply -f "$rendered" -l "app.kubernetes.io/component in ($1)"
}

log "Namespace, configuration, secrets and network policies"
apply_component "platform,config"

log "Databases and cache"
apply_component "database,cache"
for statefulset in postgres mysql mongodb; do
    kubectl -n "$NAMESPACE" rollout status "statefulset/$statefulset" --timeout="$TIMEOUT"
done
kubectl -n "$NAMESPACE" rollout status deployment/redis --timeout="$TIMEOUT"

log "Migrations"
# A Job's pod template is immutable: replace the previous run (kept for a day) with a new one.
kubectl -n "$NAMESPACE" delete job ecommerce-migrate --ignore-not-found --wait=true
apply_component "migration"
deadline=$((SECONDS + ${TIMEOUT%s}))
while true; do
    conditions="$(kubectl -n "$NAMESPACE" get job ecommerce-migrate \
        -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
    if [[ " $conditions " == *" Complete "* ]]; then
        echo "ecommerce-migrate completed"
        break
    fi
    if [[ " $conditions " == *" Failed "* ]] || ((SECONDS > deadline)); then
        kubectl -n "$NAMESPACE" logs "job/ecommerce-migrate" --all-containers --tail=50 || true
        die "the migration Job did not complete (conditions: ${conditions:-none})"
    fi
    sleep 5
done

log "API"
apply_component "api"
kubectl -n "$NAMESPACE" rollout status deployment/ecommerce-api --timeout="$TIMEOUT"
# A new Deployment starts with one pod (the HPA owns the count): wait for the HPA's minimum.
min_replicas="$(kubectl -n "$NAMESPACE" get hpa ecommerce-api -o jsonpath='{.spec.minReplicas}')"
deadline=$((SECONDS + ${TIMEOUT%s}))
until ready="$(kubectl -n "$NAMESPACE" get deployment ecommerce-api -o jsonpath='{.status.readyReplicas}')" \
    && ((${ready:-0} >= ${min_replicas:-1})); do
    ((SECONDS < deadline)) || die "only ${ready:-0} of ${min_replicas} API pods are ready"
    sleep 5
done
echo "ecommerce-api: ${ready} pods ready"
# The webhook relay, applied with the API (same image and migrations): its pods must start too.
kubectl -n "$NAMESPACE" rollout status deployment/events-relay --timeout="$TIMEOUT"

log "Scheduled repairs"
# After the migrations: a run against the previous schema would fail (and retry next time).
apply_component "maintenance"

# Anything without a phase label (nothing today) is applied last; the rest is unchanged.
kubectl apply -f "$rendered" >/dev/null

log "Service address"
address=""
for _ in $(seq 1 60); do
    address="$(kubectl -n "$NAMESPACE" get service ecommerce-api \
        -o jsonpath='{.status.loadBalancer.ingress[0].hostname}{.status.loadBalancer.ingress[0].ip}')"
    [[ -n "$address" ]] && break
    sleep 5
done
if [[ -n "$address" ]]; then
    echo "The API answers at http://$address (TLS on 443 once the load balancer has its certificate)."
    echo "Point the DNS name in ALLOWED_HOSTS (deploy/k8s/config.env) at it."
else
    echo "The load balancer has no address yet: kubectl -n $NAMESPACE get service ecommerce-api -w"
fi
