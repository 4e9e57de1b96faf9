#!/bin/sh
# The promotion story (promotion-story.sh) over file:// in a SHA-1 repository.
FG_TRANSPORT=file
FG_HASH=sha1
. "${FG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/promotion-story.sh"
