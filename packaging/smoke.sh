#!/usr/bin/env bash
# Smoke test of the one-folder bundle: does dist/photoface/ work with no virtualenv and no repo help?
#
#   packaging/smoke.sh               # build (packaging/build.sh), then the checks
#   packaging/smoke.sh --no-build    # the checks on the existing dist/photoface
#   packaging/smoke.sh --rename-venv # hide .venv by renaming it (default: a private mount namespace
#                                    # when `unshare` allows one, so other users of .venv are not disturbed)
#
# Checks, each timed:
#   1. `photoface self-test` under `env -i PATH=/usr/bin:/bin HOME=$HOME` (nothing of the venv reachable),
#      run from an empty folder (nothing found through the working directory);
#   2. the same with .venv out of the way (an empty folder mounted over it, or moved to .venv.away);
#   3. the window, offscreen, on an empty library, opened on a folder holding one photo: it must still
#      be alive after WINDOW_SECONDS (default 10) and its scan, which runs in a 'spawn' child process of
#      the frozen executable, must have stored the photo's face (read back with `photoface people`);
#   4. `photoface scan` from the CLI with the library switched to the Keras MTCNN detector (needs sqlite3).
# Exit status 0 when every check passed. Linux (and macOS with bash; no `unshare` there).
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUNDLE=$ROOT/dist/photoface
EXE=$BUNDLE/photoface
WINDOW_SECONDS=${WINDOW_SECONDS:-10}
SCAN_TIMEOUT=${SCAN_TIMEOUT:-120}
BUILD=1
HIDE=auto
for arg in "$@"; do
    case $arg in
        --no-build) BUILD=0 ;;
        --rename-venv) HIDE=rename ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "smoke.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

FAILED=()
WORK=$(mktemp -d)
VENV_MOVED=0
cleanup() {
    if [ "$VENV_MOVED" = 1 ] && [ -d "$ROOT/.venv.away" ] && [ ! -e "$ROOT/.venv" ]; then
        mv "$ROOT/.venv.away" "$ROOT/.venv"
    fi
    [ -n "${GUI_PID:-}" ] && kill "$GUI_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n== %s\n' "$*"; }
# A bare environment: no PYTHONPATH, no VIRTUAL_ENV, no PATH into the venv.
bare() { env -i PATH=/usr/bin:/bin HOME="$HOME" LANG=C.UTF-8 "$@"; }

if [ "$BUILD" = 1 ]; then
    step "build (packaging/build.sh)"
    t=$(now)
    packaging/build.sh || { echo "smoke.sh: build failed" >&2; exit 1; }
    echo "build step: $(took "$t")"
fi
[ -x "$EXE" ] || { echo "smoke.sh: $EXE is missing; build first (packaging/build.sh)" >&2; exit 1; }
echo "bundle: $(du -sh "$BUNDLE" | cut -f1)  $BUNDLE"

step "1. self-test, env -i (bare PATH), from an empty folder"
t=$(now)
(cd "$WORK" && bare "$EXE" self-test)
rc=$?
echo "exit $rc, $(took "$t")"
[ $rc = 0 ] || FAILED+=("self-test under env -i")

step "2. self-test, env -i, .venv out of reach"
t=$(now)
mode=$HIDE
if [ "$mode" = auto ]; then
    if command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then mode=mount; else mode=rename; fi
fi
mkdir -p "$WORK/empty" "$WORK/cwd"
if [ ! -d "$ROOT/.venv" ]; then
    echo "(no .venv here)"
    (cd "$WORK/cwd" && bare "$EXE" self-test)
    rc=$?
elif [ "$mode" = mount ]; then
    echo "(.venv hidden by mounting an empty folder over it, in a private mount namespace)"
    # The inner `ls` proves the venv is really out of sight for the bundle.
    unshare -rm env -i PATH=/usr/bin:/bin HOME="$HOME" LANG=C.UTF-8 \
        sh -c 'mount --bind "$1" "$2/.venv" && test -z "$(ls -A "$2/.venv")" && cd "$3" && exec "$4" self-test' \
        sh "$WORK/empty" "$ROOT" "$WORK/cwd" "$EXE"
    rc=$?
else
    echo "(.venv moved to .venv.away for the run; moved back on exit)"
    mv "$ROOT/.venv" "$ROOT/.venv.away" && VENV_MOVED=1
    (cd "$WORK/cwd" && bare "$EXE" self-test)
    rc=$?
    mv "$ROOT/.venv.away" "$ROOT/.venv" && VENV_MOVED=0
fi
echo "exit $rc, $(took "$t")"
[ $rc = 0 ] || FAILED+=("self-test without .venv")

step "3. window, offscreen, new library, scanning one photo (alive after ${WINDOW_SECONDS} s?)"
t=$(now)
LIB=$WORK/library PHOTOS=$WORK/photos GUI_HOME=$WORK/home
mkdir -p "$LIB" "$PHOTOS" "$GUI_HOME"
cp resources/astronaut.jpg "$PHOTOS/"
(cd "$WORK/cwd" && exec env -i PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen HOME="$GUI_HOME" LANG=C.UTF-8 \
    "$EXE" --library "$LIB" "$PHOTOS") >"$WORK/gui.log" 2>&1 &
GUI_PID=$!
faces=""
alive=1
deadline=$(( $(date +%s) + SCAN_TIMEOUT ))
started=$(date +%s)
while :; do
    sleep 2
    if ! kill -0 "$GUI_PID" 2>/dev/null; then alive=0; break; fi
    elapsed=$(( $(date +%s) - started ))
    if [ -z "$faces" ] || [ "$faces" = 0 ]; then
        # `people --json` (no TensorFlow import, unlike `status`): one "photo" key per stored face.
        faces=$(bare "$EXE" --library "$LIB" people --json --all 2>/dev/null | grep -o '"photo":' | wc -l)
    fi
    if [ "$elapsed" -ge "$WINDOW_SECONDS" ] && [ -n "$faces" ] && [ "$faces" != 0 ]; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then break; fi
done
if [ "$alive" = 1 ] && kill -0 "$GUI_PID" 2>/dev/null; then
    echo "window alive after $(( $(date +%s) - started )) s; faces stored by its scan: ${faces:-none}"
    kill "$GUI_PID"
    wait "$GUI_PID" 2>/dev/null
else
    wait "$GUI_PID"
    echo "window process ended early (exit $?)"
    FAILED+=("window crashed or quit")
    alive=0
fi
GUI_PID=
if [ -z "$faces" ] || [ "$faces" = 0 ]; then FAILED+=("the window's scan stored no face"); fi
if grep -q "Traceback" "$WORK/gui.log"; then FAILED+=("a traceback in the window's output"); fi
if [ -s "$WORK/gui.log" ]; then echo "-- its output (last 20 lines):"; tail -n 20 "$WORK/gui.log"; fi
echo "window step: $(took "$t")"

step "4. CLI scan with the other detector (the mtcnn package on Keras, weights from mtcnn/assets)"
t=$(now)
if command -v sqlite3 >/dev/null; then
    LIB4=$WORK/library-keras
    bare "$EXE" --library "$LIB4" folders >/dev/null
    # No command switches the detector (the window's settings do); the library's settings table does.
    sqlite3 "$LIB4/library.sqlite" "INSERT INTO settings(key, value) VALUES ('detector_backend', '\"keras\"')
        ON CONFLICT(key) DO UPDATE SET value = excluded.value"
    (cd "$WORK/cwd" && bare "$EXE" --library "$LIB4" scan --no-cluster "$PHOTOS") 2>&1 | grep -v '^\[#*\.*\]'
    faces4=$(bare "$EXE" --library "$LIB4" people --json --all 2>/dev/null | grep -o '"photo":' | wc -l)
    detector=$(sqlite3 "$LIB4/library.sqlite" "SELECT DISTINCT detector FROM photos" 2>/dev/null | tr '\n' ' ')
    echo "faces stored: $faces4, detector: ${detector:-?}"
    # photos.detector is the detector's settings key, "<backend>:…".
    case $detector in "keras:"*) ;; *) FAILED+=("Keras MTCNN scan: detector recorded as '${detector}'") ;; esac
    [ "$faces4" -ge 1 ] || FAILED+=("Keras MTCNN scan stored no face")
else
    echo "(skipped: no sqlite3 command to switch the library's detector)"
fi
echo "keras step: $(took "$t")"

echo
if [ ${#FAILED[@]} = 0 ]; then
    echo "smoke: all checks passed"
else
    printf 'smoke: FAILED: %s\n' "${FAILED[@]}"
    exit 1
fi
