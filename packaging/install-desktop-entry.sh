#!/bin/sh
# Install (or remove) photosearch's desktop entry, icons and AppStream metainfo for the current
# user, so that a pip/pipx-installed photosearch shows up in the application menu.
#
#   packaging/install-desktop-entry.sh               # install into ${XDG_DATA_HOME:-~/.local/share}
#   packaging/install-desktop-entry.sh --uninstall   # remove what the install put there
#
# Options:
#   --data-home DIR   install under DIR instead of ${XDG_DATA_HOME:-$HOME/.local/share}
#   --exec PATH       the photosearch-gui program to launch (default: found on PATH, written into
#                     the entry as an absolute path so it works even when ~/.local/bin is not on
#                     the desktop session's PATH)
#   --resources DIR   where the icons/ and linux/ folders are (default: this checkout's resources/,
#                     else the installed photosearch package's resources)
#
# It never needs root; it writes only its own files under applications/, metainfo/ and
# icons/hicolor/ of the data folder, and --uninstall removes exactly those.
set -eu

APP_ID=io.github.photosearch.Photosearch
ICON=photosearch
SIZES="16 24 32 48 64 128 256 512"

action=install
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
exec_path=
resources=

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

while [ $# -gt 0 ]; do
    case $1 in
        --uninstall) action=uninstall ;;
        --data-home) data_home=$2; shift ;;
        --data-home=*) data_home=${1#*=} ;;
        --exec) exec_path=$2; shift ;;
        --exec=*) exec_path=${1#*=} ;;
        --resources) resources=$2; shift ;;
        --resources=*) resources=${1#*=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

desktop_file=$data_home/applications/$APP_ID.desktop
metainfo_file=$data_home/metainfo/$APP_ID.metainfo.xml
svg_file=$data_home/icons/hicolor/scalable/apps/$ICON.svg

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$data_home/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data_home/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$data_home/icons/hicolor" 2>/dev/null || true
    fi
    # Without an index.theme in the user's hicolor folder GTK needs no cache; touching the folder
    # is enough for most desktops to notice new icons.
    touch "$data_home/icons/hicolor" 2>/dev/null || true
}

if [ "$action" = uninstall ]; then
    rm -f "$desktop_file" "$metainfo_file" "$svg_file"
    for size in $SIZES; do
        rm -f "$data_home/icons/hicolor/${size}x${size}/apps/$ICON.png"
    done
    [ -d "$data_home/applications" ] && refresh_caches
    echo "removed the photosearch desktop entry and icons from $data_home"
    echo "(your library and settings are kept; see docs/packaging.md to remove those too)"
    exit 0
fi

# --- find the resources -----------------------------------------------------------------------
if [ -z "$resources" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    if [ -f "$here/../resources/linux/$APP_ID.desktop" ]; then
        resources=$here/../resources
    else
        # Ask the Python that runs the installed photosearch (pipx keeps it in its own venv).
        python=
        if cli=$(command -v photosearch 2>/dev/null); then
            python=$(head -n 1 "$cli" | sed -n 's/^#! *//p' | cut -d' ' -f1)
        fi
        for candidate in "$python" python3 python; do
            [ -n "$candidate" ] || continue
            if found=$("$candidate" -c 'from photosearch.core.resources import resources_dir; print(resources_dir())' 2>/dev/null); then
                resources=$found
                break
            fi
        done
    fi
fi
if [ -z "$resources" ] || [ ! -f "$resources/linux/$APP_ID.desktop" ]; then
    echo "cannot find photosearch's resources (icons/ and linux/); pass --resources DIR" >&2
    exit 1
fi

# --- find the program -------------------------------------------------------------------------
if [ -z "$exec_path" ]; then
    exec_path=$(command -v photosearch-gui 2>/dev/null || true)
    if [ -z "$exec_path" ] && [ -x "$HOME/.local/bin/photosearch-gui" ]; then
        exec_path=$HOME/.local/bin/photosearch-gui
    fi
fi
if [ -z "$exec_path" ]; then
    echo "warning: photosearch-gui is not on PATH; the menu entry will run plain 'photosearch-gui'" >&2
    exec_path=photosearch-gui
fi
case $exec_path in
    *[!A-Za-z0-9_./+-]*) echo "the path to photosearch-gui contains characters a desktop entry cannot hold unquoted: $exec_path" >&2; exit 1 ;;
esac

# --- install ----------------------------------------------------------------------------------
mkdir -p "$data_home/applications" "$data_home/metainfo" "$data_home/icons/hicolor/scalable/apps"
sed -e "s|^Exec=photosearch-gui|Exec=$exec_path|" -e "s|^TryExec=photosearch-gui|TryExec=$exec_path|" \
    "$resources/linux/$APP_ID.desktop" > "$desktop_file.tmp"
mv "$desktop_file.tmp" "$desktop_file"
chmod 644 "$desktop_file"
cp "$resources/linux/$APP_ID.metainfo.xml" "$metainfo_file"
cp "$resources/icons/$ICON.svg" "$svg_file"
for size in $SIZES; do
    src=$resources/icons/hicolor/${size}x${size}/apps/$ICON.png
    [ -f "$src" ] || continue
    mkdir -p "$data_home/icons/hicolor/${size}x${size}/apps"
    cp "$src" "$data_home/icons/hicolor/${size}x${size}/apps/$ICON.png"
done
refresh_caches

echo "installed the photosearch desktop entry into $data_home (launches $exec_path)"
echo "undo with: $0 --uninstall"
