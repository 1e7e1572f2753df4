# Containers and Kubernetes. Included by the Makefile (`include deploy/deploy.mk`);
# deploy/README.md explains each step.
IMAGE_NAME ?= ecommerce-api
IMAGE_TAG ?= 1.0.0
IMAGE ?= $(IMAGE_NAME):$(IMAGE_TAG)
# Empty: the image deploy/k8s/kustomization.yaml pins. Set it to deploy another build.
K8S_IMAGE ?=
KUBECTL ?= kubectl
K8S_NAMESPACE ?= ecommerce
COMPOSE ?= docker compose

.PHONY: docker-build docker-smoke docker-run docker-stop k8s-secrets k8s-deploy k8s-delete k8s-status

LOADTEST_IMAGE ?= ecommerce-loadtest:$(IMAGE_TAG)

docker-build: ## Build the API image (IMAGE=ecommerce-api:1.0.0) and the Locust image (LOADTEST_IMAGE)
	docker build --pull -t $(IMAGE) .
	docker build --target loadtest -t $(LOADTEST_IMAGE) .

# Root: installs docker.io, debootstrap and nginx when missing and starts dockerd when none
# answers. Not part of `make test`; .ci/run calls it after the tests. SMOKE_SOURCE=HEAD builds
# the last commit instead of the work tree.
docker-smoke: $(STAMP) ## Build the image for real, run it hardened: 3 replicas behind nginx, the oversell race
	$(PY) deploy/docker_smoke.py

docker-run: ## Run the whole shop with Docker Compose on :8080 (needs .env, see .env.example)
	@test -f .env || { echo "No .env: cp .env.example .env, then set SECRET_KEY and the passwords"; exit 1; }
	API_IMAGE=$(IMAGE) LOADTEST_IMAGE=$(LOADTEST_IMAGE) $(COMPOSE) up --build --detach
	@echo "http://localhost:$${HTTP_PORT:-8080} once healthy: $(COMPOSE) ps"

docker-stop: ## Stop the Compose stack (the database volumes stay)
	$(COMPOSE) --profile load down

k8s-secrets: ## Write deploy/k8s/secrets.env with random passwords (once; gitignored)
	deploy/gen-k8s-secrets.sh

k8s-deploy: ## Deploy to the current kubectl context in order, and wait (K8S_IMAGE=registry/name:tag)
	IMAGE="$(K8S_IMAGE)" deploy/deploy-k8s.sh

# Not `kubectl delete -k`: that deletes the namespace, and with it the databases' volumes.
k8s-delete: ## Delete the shop's workloads and config (namespace and database volumes stay)
	$(KUBECTL) -n $(K8S_NAMESPACE) delete cronjobs,deployments,statefulsets,jobs,services,hpa,pdb,networkpolicies,configmaps,secrets \
		-l app.kubernetes.io/part-of=ecommerce --ignore-not-found

k8s-status: ## Pods, services, the HPA, the migration Job and the repair CronJobs in the namespace
	$(KUBECTL) -n $(K8S_NAMESPACE) get statefulsets,deployments,pods,services,hpa,pdb,cronjobs,jobs -o wide
