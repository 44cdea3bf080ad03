#!/usr/bin/env bash
# Install the Graphviz `dot` binary when we can (root or passwordless sudo, apt);
# otherwise say how and carry on: minigrad then writes DOT source instead of SVG.
set -u
if command -v dot >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi
if [ "$SUDO" != "none" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Graphviz (dot) with apt-get ..."
  if $SUDO apt-get install -y -q graphviz >/dev/null 2>&1 || \
     { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q graphviz >/dev/null 2>&1; }; then
    echo "Graphviz installed: $(dot -V 2>&1)"
    exit 0
  fi
fi
cat <<'MSG'
NOTE: the Graphviz `dot` binary is not installed and could not be installed here.
minigrad will write .dot files instead of SVG/PNG. To render graphs, install it:
  Debian/Ubuntu: sudo apt-get install graphviz    macOS: brew install graphviz
  conda: conda install -c conda-forge graphviz     Windows: winget install graphviz
MSG
exit 0
