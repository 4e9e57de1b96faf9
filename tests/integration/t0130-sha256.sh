#!/bin/sh
# The promotion story (promotion-story.sh) over file:// in a SHA-256 repository:
# 64-hex object ids, 64-zero ids for creations and deletions.
# shellcheck disable=SC2034 # read by the story sourced below
FG_TRANSPORT='file'
FG_HASH='sha256'
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/promotion-story.sh"
