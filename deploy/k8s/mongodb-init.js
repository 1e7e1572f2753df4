// Runs once, when MongoDB initialises an empty data volume (/docker-entrypoint-initdb.d),
// as the root user: creates the API's own user, limited to readWrite on its database
// (readWrite includes createIndex, which `setup_stores` needs). Used by docker-compose.yml
// and, through the kustomize configMapGenerator, by the Kubernetes StatefulSet.
const password = process.env.MONGO_APP_PASSWORD;
if (!password) {
  throw new Error("MONGO_APP_PASSWORD is not set");
}
db.getSiblingDB("ecommerce").createUser({
  user: "ecommerce",
  pwd: password,
  roles: [{ role: "readWrite", db: "ecommerce" }],
});
