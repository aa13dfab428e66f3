#pragma once

// Umbrella header: everything a user of allthings-webhooks needs. Durable inboxes have headers
// of their own (<allthings/webhooks/inbox/sqlite.hpp>), so that only their users need SQLite.
#include "webhooks/endpoint.hpp"
#include "webhooks/error.hpp"
#include "webhooks/event.hpp"
#include "webhooks/handlers.hpp"
#include "webhooks/health.hpp"
#include "webhooks/inbox.hpp"
#include "webhooks/inbox/memory.hpp"
#include "webhooks/inbox/operations.hpp"
#include "webhooks/logging.hpp"
#include "webhooks/metrics.hpp"
#include "webhooks/options.hpp"
#include "webhooks/prometheus.hpp"
#include "webhooks/receiver.hpp"
#include "webhooks/reply.hpp"
#include "webhooks/scheme.hpp"
#include "webhooks/schemes/allthings.hpp"
#include "webhooks/stats.hpp"
#include "webhooks/typed_events.hpp"
#include "webhooks/version.hpp"
