#pragma once

// Umbrella header: everything a user of allthings-webhooks needs. The durable inbox lives in
// <allthings/webhooks/sqlite_inbox.hpp> so that only its users need SQLite.
#include "webhooks/detail/core/dispatcher.hpp"
#include "webhooks/endpoint.hpp"
#include "webhooks/detail/core/envelope_parser.hpp"
#include "webhooks/error.hpp"
#include "webhooks/event.hpp"
#include "webhooks/typed_events.hpp"
#include "webhooks/handlers.hpp"
#include "webhooks/inbox.hpp"
#include "webhooks/inbox/memory.hpp"
#include "webhooks/options.hpp"
#include "webhooks/detail/core/pipeline.hpp"
#include "webhooks/signature.hpp"
#include "webhooks/stats.hpp"
#include "webhooks/version.hpp"
