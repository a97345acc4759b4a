#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh lab            set up, then start JupyterLab with the extension
#   ./dev.sh test [args]    set up, then run the whole test suite (mypy, ruff, JS unit tests, pytest [args])
#   ./dev.sh bench [args]   set up, then run the benchmarks against terminado
#   ./dev.sh setup          only set up
# Setting up: a virtual environment in .venv (VENV=... to change), the package installed
# editable with its test/bench extras (which builds the labextension with jlpm; Node.js >= 18
# needed), the labextension linked into the environment, and Debian's chromium for the
# browser tests (installed with apt-get when running as root).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
PY="$VENV/bin/python"

setup() {
  [ -x "$PY" ] || python3 -m venv "$VENV"
  export PATH="$PWD/$VENV/bin:$PATH"
  "$PY" -m pip install -q --upgrade pip
  # `labextension develop` (below) makes the installed labextension a symlink to
  # jupyter_termmux/labextension. pip would write the editable wheel's shared data through
  # that link: install.json would land in the source tree, and the next build would put it
  # in the wheel twice ("A second file is being added to the wheel archive at the same
  # path"). So: unlink, drop what an earlier run left there, install, link again.
  local link="$VENV/share/jupyter/labextensions/jupyter-termmux"
  if [ -L "$link" ]; then rm "$link"; fi
  rm -f jupyter_termmux/labextension/install.json
  "$PY" -m pip install -q -e ".[test,bench,dev]"
  jupyter labextension develop --overwrite . >/dev/null
}

need_chromium() {
  command -v chromium >/dev/null && return
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "dev.sh: the browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
}

cmd=${1:-test}
shift || true
case "$cmd" in
  setup) setup ;;
  lab)
    setup
    root_flag=()
    [ "$(id -u)" = 0 ] && root_flag=(--allow-root)
    exec jupyter lab "${root_flag[@]}" "$@"
    ;;
  test)
    setup
    need_chromium
    "$PY" -m mypy                      # the server package, strict (pyproject [tool.mypy])
    "$PY" -m ruff check jupyter_termmux tests benchmarks   # lint (pyproject [tool.ruff])
    "$PY" -m ruff format --check jupyter_termmux tests benchmarks
    (cd labextension && jlpm install >/dev/null && jlpm test)   # TypeScript unit tests (vitest)
    exec "$PY" -m pytest "$@"
    ;;
  bench)
    setup
    exec "$PY" -m benchmarks "$@"
    ;;
  *) echo "usage: ./dev.sh lab|test|bench|setup [args]" >&2; exit 2 ;;
esac
