#!/usr/bin/env bash
# Builds the one-folder bundle dist/photoface/ from a clone: .venv (via `make venv`), PyInstaller, the spec.
#
#   packaging/build.sh            # incremental (PyInstaller keeps its analysis cache in build/)
#   packaging/build.sh --clean    # from scratch: empties build/ and PyInstaller's cache first
#
# Prints the build time and the bundle size. Linux and macOS; on Windows see packaging/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-.venv}
CLEAN=()
for arg in "$@"; do
    case $arg in
        --clean) CLEAN=(--clean) ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

start=$(date +%s)
make venv
if ! "$VENV/bin/python" -c 'import PyInstaller' 2>/dev/null; then
    # The `bundle` extra of pyproject.toml names the same requirement.
    "$VENV/bin/python" -m pip install --quiet 'pyinstaller>=6.6'
fi

echo "building dist/photoface with PyInstaller $("$VENV/bin/python" -c 'import PyInstaller; print(PyInstaller.__version__)')" \
     "(several minutes: TensorFlow is large)…"
t0=$(date +%s)
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN "${CLEAN[@]}" photoface.spec
t1=$(date +%s)

test -x dist/photoface/photoface || { echo "build.sh: dist/photoface/photoface is missing" >&2; exit 1; }
echo "build: $((t1 - t0)) s (PyInstaller), $((t1 - start)) s in all"
echo "bundle: $(du -sh dist/photoface | cut -f1)  $ROOT/dist/photoface"
