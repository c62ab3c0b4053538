# Shell helpers shared by the test and benchmark scripts. Source it:
#   . "$(dirname "$0")/lib.sh"          (from a script in scripts/)
# It sets no shell options and changes no directory.

# ensure_venv DIR REQUIREMENTS...
# Makes DIR a Python virtualenv holding the pinned packages of each
# requirements file. A file's install is stamped in DIR with the hash of its
# contents, so a repeated call is a no-op (fast, and needs no network) until
# the file changes. Several requirements files may share one virtualenv.
ensure_venv() {
    local venv=$1 requirements hash
    shift
    command -v python3 >/dev/null ||
        { echo "ensure_venv: python3 is required (3.9 or later, with venv)" >&2; return 1; }
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "==> creating $venv"
        python3 -m venv "$venv" || return 1
    fi
    for requirements in "$@"; do
        [[ -f "$requirements" ]] || { echo "ensure_venv: no such file: $requirements" >&2; return 1; }
        hash=$(sha256sum "$requirements" | cut -d' ' -f1)
        [[ -f "$venv/.installed-$hash" ]] && continue
        echo "==> installing $requirements into $venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" || return 1
        touch "$venv/.installed-$hash"
    done
}

# field KEY TEXT: the value of the first `KEY=value` word in TEXT (the
# benchmark binaries print their results as such words, one or more lines).
field() {
    sed -n "s/^\(.*[[:space:]]\)\{0,1\}$1=\([^[:space:]]*\).*/\2/p" <<<"$2" | head -n1
}

# ratio A B [DIGITS]: A / B with DIGITS fraction digits (default 2).
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "n/a"; else printf ("%." d "f\n"), a / b }'
}

# median NUMBER...: the middle value (the mean of the two middle ones for an
# even count); empty for none.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
