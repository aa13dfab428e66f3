#pragma once

// Umbrella header: everything a user of allthings-webhooks needs. The durable inbox lives in
// <allthings/webhooks/sqlite_inbox.hpp> so that only its users need SQLite.
#include "webhooks/dispatcher.hpp"
#include "webhooks/endpoint.hpp"
#include "webhooks/envelope.hpp"
#include "webhooks/error.hpp"
#include "webhooks/event.hpp"
#include "webhooks/events.hpp"
#include "webhooks/handlers.hpp"
#include "webhooks/inbox.hpp"
#include "webhooks/memory_inbox.hpp"
#include "webhooks/options.hpp"
#include "webhooks/pipeline.hpp"
#include "webhooks/signature.hpp"
#include "webhooks/stats.hpp"
#include "webhooks/version.hpp"
