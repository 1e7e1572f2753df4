#!/usr/bin/env bash
# Write deploy/k8s/secrets.env (gitignored) with fresh random values, following
# deploy/k8s/secrets.env.example. Refuses to overwrite an existing file: the databases keep
# the passwords they were initialised with.
#
#   deploy/gen-k8s-secrets.sh        # make k8s-secrets
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-$here/k8s/secrets.env}"

if [[ -e "$target" ]]; then
    echo "$target exists; remove it first to make new secrets (and change them in the databases)." >&2
    exit 1
fi

random_hex() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }

secret_key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
postgres_password="$(random_hex)"
mysql_root_password="$(random_hex)"
mysql_password="$(random_hex)"
mongo_root_password="$(random_hex)"
mongo_app_password="$(random_hex)"
payments_webhook_secret="$(random_hex)"
webhook_secrets_key="$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"

umask 077
cat >"$target" <<EOF
SECRET_KEY=$secret_key
POSTGRES_PASSWORD=$postgres_password
DATABASE_URL=postgres://ecommerce:$postgres_password@postgres:5432/ecommerce
MYSQL_ROOT_PASSWORD=$mysql_root_password
MYSQL_PASSWORD=$mysql_password
MYSQL_URL=mysql://ecommerce:$mysql_password@mysql:3306/ecommerce
MONGO_ROOT_PASSWORD=$mongo_root_password
MONGO_APP_PASSWORD=$mongo_app_password
MONGO_URL=mongodb://ecommerce:$mongo_app_password@mongodb:27017/ecommerce?authSource=ecommerce
PAYMENTS_WEBHOOK_SECRET=$payments_webhook_secret
STRIPE_SECRET_KEY=
STRIPE_WEBHOOK_SECRET=
WEBHOOK_SECRETS_KEY=$webhook_secrets_key
EOF
echo "Wrote $target (mode 600). Keep a copy in your secret store."
