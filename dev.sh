#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh lab            set up, then start JupyterLab with the extension
#   ./dev.sh test [args]    set up, then run the whole test suite (mypy, ruff, JS unit tests, pytest [args])
#   ./dev.sh lint           set up, then only the linters (mypy, ruff, eslint/prettier, workflows)
#   ./dev.sh bench [args]   set up, then run the benchmarks against terminado
#   ./dev.sh setup          only set up
#   ./dev.sh dist [args]    build the release sdist and wheel into dist/ from a clean clone of HEAD
#                           and check them with twine (args go to `python -m build`, e.g. --sdist)
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

lint_python() {
  "$PY" -m mypy                      # the server package, strict (pyproject [tool.mypy])
  "$PY" -m ruff check jupyter_termmux tests benchmarks   # lint (pyproject [tool.ruff])
  "$PY" -m ruff format --check jupyter_termmux tests benchmarks
  # The workflows cannot run before the repository is public: check them against GitHub's schema.
  "$PY" -m check_jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
}

# A release is built from a clean clone of HEAD, so nothing untracked and no development build of
# the labextension can reach it: the build hook then builds the labextension minified. The sdist
# carries that build; the wheel is built from the sdist.
dist() {
  local out=${DIST_DIR:-$PWD/dist} src
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q build twine
  dist_work=$(mktemp -d)   # global: the EXIT trap runs after this function has returned
  trap 'rm -rf "$dist_work"' EXIT
  src="$dist_work/src"
  git clone -q --no-checkout . "$src"
  git -C "$src" checkout -q --detach "$(git rev-parse HEAD)"
  # This checkout's JS packages, if any, spare the download; `jlpm install` still follows yarn.lock.
  for d in node_modules .yarn; do
    if [ -d "labextension/$d" ]; then cp -a "labextension/$d" "$src/labextension/"; fi
  done
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "dev.sh dist: building HEAD $(git rev-parse --short HEAD); uncommitted changes are not in it" >&2
  fi
  rm -f "$out"/jupyter_termmux-*
  "$PY" -m build --outdir "$out" "$@" "$src"
  "$PY" -m twine check --strict "$out"/jupyter_termmux-*
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
    lint_python
    (cd labextension && jlpm install >/dev/null && jlpm test)   # eslint, prettier, vitest
    exec "$PY" -m pytest "$@"
    ;;
  lint)
    setup
    lint_python
    (cd labextension && jlpm install >/dev/null && jlpm lint:check)
    ;;
  dist) dist "$@" ;;
  bench)
    setup
    exec "$PY" -m benchmarks "$@"
    ;;
  *) echo "usage: ./dev.sh lab|test|lint|bench|setup|dist [args]" >&2; exit 2 ;;
esac
