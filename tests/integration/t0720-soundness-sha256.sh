#!/bin/sh
# t0700's attacks in a SHA-256 repository, where the graph questions go
# through the git command line (one git rev-list per walk) instead of libgit2.
FG_OBJECT_FORMAT=sha256
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/t0700-promotion-soundness.sh"
