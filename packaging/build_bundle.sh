#!/usr/bin/env bash
# Build the one-folder app bundle of the photosearch GUI with PyInstaller.
#
#   packaging/build_bundle.sh                 # fresh build venv (build/bundle-venv), CPU-only torch
#   packaging/build_bundle.sh --use-current   # use the Python in $PYTHON / the active venv instead
#   packaging/build_bundle.sh --smoke         # afterwards, start the bundle offscreen for 15 s
#
# Options:
#   --venv DIR          where to create the build venv (default: build/bundle-venv)
#   --python PY         the Python that creates the build venv (default: python3)
#   --torch-index URL   index for the CPU-only torch/torchvision wheels (default on Linux and
#                       Windows: https://download.pytorch.org/whl/cpu; on macOS PyPI's wheels are
#                       CPU/MPS already). Pass "" to take torch from the normal indexes.
#   --torch REQS        the torch requirements to install first (default: "torch torchvision"),
#                       e.g. --torch-index "" --torch "/path/torch-2.13.0+cpu-...whl torchvision==0.28.*"
#   --use-current       build with an existing environment (the one of $PYTHON, else the active
#                       venv, else python3); it must have photosearch installed. If its torch is a
#                       CUDA build the spec stops, unless PHOTOSEARCH_BUNDLE_ALLOW_CUDA=1.
#   --clean             remove build/pyinstaller and dist/photosearch first
#   --smoke             start the built program with QT_QPA_PLATFORM=offscreen; fail if it exits
#                       with an error within 15 seconds
#
# Output: dist/photosearch/ (run dist/photosearch/photosearch), or dist/photosearch.app on macOS.
# Works in Git Bash on Windows too (the venv's programs are then in Scripts/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

venv=build/bundle-venv
base_python=python3
use_current=0
torch_reqs="torch torchvision"
clean=0
smoke=0
case "$(uname -s)" in
    Darwin) torch_index= ;;
    *) torch_index=https://download.pytorch.org/whl/cpu ;;
esac

while [ $# -gt 0 ]; do
    case $1 in
        --venv) venv=$2; shift ;;
        --python) base_python=$2; shift ;;
        --torch-index) torch_index=$2; shift ;;
        --torch) torch_reqs=$2; shift ;;
        --use-current) use_current=1 ;;
        --clean) clean=1 ;;
        --smoke) smoke=1 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -f photosearch/gui/app.py ]; then
    echo "photosearch/gui/app.py does not exist yet: there is no GUI to bundle." >&2
    exit 1
fi

venv_python() {  # the interpreter inside a venv, on POSIX or Windows
    if [ -x "$1/bin/python" ]; then echo "$1/bin/python"; else echo "$1/Scripts/python.exe"; fi
}

if [ "$use_current" = 1 ]; then
    if [ -n "${PYTHON:-}" ]; then
        py=$PYTHON
    elif [ -n "${VIRTUAL_ENV:-}" ]; then
        py=$(venv_python "$VIRTUAL_ENV")
    else
        py=python3
    fi
    "$py" -c "import photosearch" || { echo "photosearch is not installed in $py" >&2; exit 1; }
    "$py" -m PyInstaller --version >/dev/null 2>&1 || "$py" -m pip install "pyinstaller>=6.3"
else
    if [ ! -d "$venv" ]; then
        echo "creating the build venv $venv"
        "$base_python" -m venv "$venv"
    fi
    py=$(venv_python "$venv")
    "$py" -m pip install --upgrade pip wheel
    # shellcheck disable=SC2086 # torch_reqs is a list of requirements
    if [ -n "$torch_index" ]; then
        "$py" -m pip install $torch_reqs --index-url "$torch_index"
    else
        "$py" -m pip install $torch_reqs
    fi
    # A regular (not editable) install, so the bundle gets exactly what a wheel would contain.
    "$py" -m pip install . "pyinstaller>=6.3"
fi

"$py" - <<'PY'
import torch
kind = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
print(f"torch {torch.__version__} ({kind})")
PY

if [ "$clean" = 1 ]; then
    rm -rf build/pyinstaller dist/photosearch dist/photosearch.app
fi

"$py" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/photosearch.spec

if [ -d dist/photosearch.app ]; then
    program=dist/photosearch.app/Contents/MacOS/photosearch
elif [ -f dist/photosearch/photosearch.exe ]; then
    program=dist/photosearch/photosearch.exe
else
    program=dist/photosearch/photosearch
fi
echo "built $program ($(du -sh dist/photosearch | cut -f1) in dist/photosearch)"

if [ "$smoke" = 1 ]; then
    echo "smoke test: starting $program offscreen for 15 s"
    home=$(mktemp -d)
    QT_QPA_PLATFORM=offscreen HOME="$home" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" \
        XDG_CONFIG_HOME="$home/config" "$program" &
    pid=$!
    for _ in $(seq 15); do
        sleep 1
        if ! kill -0 "$pid" 2>/dev/null; then
            if wait "$pid"; then
                echo "smoke test: the program exited on its own with status 0"
                rm -rf "$home"
                exit 0
            fi
            echo "smoke test FAILED: the program exited with an error" >&2
            rm -rf "$home"
            exit 1
        fi
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$home"
    echo "smoke test passed: still running after 15 s"
fi
