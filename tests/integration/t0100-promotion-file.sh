#!/bin/sh
# The promotion story (promotion-story.sh) over file:// in a SHA-1 repository.
# shellcheck disable=SC2034 # read by the story sourced below
FG_TRANSPORT='file'
FG_HASH='sha1'
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/promotion-story.sh"
