#!/usr/bin/env bash
# Fail when src/ calls a function the project does not use (STYLE.md,
# "Errors and ownership"): unbounded copies and formatting, number parsing
# without error reporting, a tokenizer with hidden state.
#
#   strcpy strcat sprintf vsprintf  -> str_copy(), strlcpy_checked(), snprintf(),
#                                      struct buf (util/buf.h)
#   sscanf atoi atol                -> str_to_u64(), parse functions in util/str.h
#   strtok                          -> struct str views
#   gets                            -> never
#
# Comments and string literals are blanked first, so a comment may name
# them. Usage: scripts/check-banned.sh [DIR...] (default src).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- src

BANNED='strcpy|strcat|sprintf|vsprintf|sscanf|atoi|atol|strtok|gets'

files=$(find "$@" -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "check-banned: no C files in $*" >&2; exit 2; }
# shellcheck disable=SC2086
hits=$(BANNED="$BANNED" perl -e '
  my $re = qr/\b($ENV{BANNED})\s*\(/;
  for my $f (@ARGV) {
    open(my $fh, "<", $f) or die "$f: $!\n";
    local $/;
    my $s = <$fh>;
    close($fh);
    # Blank comments, string and character literals; keep the newlines.
    $s =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\x27(?:\\.|[^\x27\\\n])*\x27)}
           { my $m = $1; $m =~ s/[^\n]/ /g; $m }gse;
    my $n = 0;
    for my $line (split /\n/, $s, -1) {
      $n++;
      print "$f:$n: $1()\n" while $line =~ /$re/g;
    }
  }' $files)
if [ -n "$hits" ]; then
  echo "$hits"
  echo "check-banned: banned functions in $* (see the list at the top of $0)"
  exit 1
fi
echo "check-banned: none of $(echo "$BANNED" | tr '|' ' ') in $*"
