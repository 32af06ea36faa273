# Developer shortcuts. Optional: every recipe is a plain command that works without
# `just` (see README.md and bench/README.md); `just --list` shows them.

# Run keyward (no arguments: serve on 127.0.0.1:8080 with data/), e.g. `just run migrate`
run *ARGS:
    cargo run --release -p keyward -- {{ARGS}}

# Every test (PostgreSQL tests use KEYWARD_TEST_POSTGRES_URL), e.g. `just test rotate`
test *ARGS:
    cargo test --workspace {{ARGS}}

# Every test with PostgreSQL required (started first when it is down, as .ci/run does;
# CI=1 makes an unreachable server fail the run instead of skipping its tests);
# KEYWARD_TEST_POSTGRES_URL picks another server, e.g. `just test-pg usage`
test-pg *ARGS:
    pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    KEYWARD_TEST_POSTGRES_URL="${KEYWARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" CI=1 cargo test --workspace {{ARGS}}

# Formatting and clippy, as CI runs them
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code
fmt:
    cargo fmt --all

# The benchmark table (bench/README.md), e.g. `just bench --backend sqlite --duration 5`
bench *ARGS:
    bench/run {{ARGS}}

# Everything CI checks (starts PostgreSQL if needed)
ci:
    bash .ci/run
