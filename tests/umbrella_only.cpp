// A second translation unit that includes only the umbrella header: a non-inline function in
// any header turns into a multiple-definition link error here.
#include <allthings/webhooks.hpp>

namespace aw = allthings::webhooks;

const char* umbrella_only_kind_name() { return aw::to_string(aw::ErrorKind::queue_full); }
