"""Developer and operator tooling: the embedded default of `make run` (serve, embedded
nx-27017) and the schema fuzzer. Nothing here is imported by the API at request time."""
