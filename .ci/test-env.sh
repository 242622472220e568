# Sourced by `make test`: use PostgreSQL and Redis on 127.0.0.1 when they answer.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
if [ -z "${DATABASE_URL:-}" ] && port_open 127.0.0.1 5432; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/slaverycases"
fi
if [ -z "${CELERY_BROKER_URL:-}" ] && port_open 127.0.0.1 6379; then
  export CELERY_BROKER_URL="redis://127.0.0.1:6379/0"
fi
echo "tests use database ${DATABASE_URL:-sqlite (embedded)} and broker ${CELERY_BROKER_URL:-filesystem (embedded)}"
