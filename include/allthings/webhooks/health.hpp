#pragma once

namespace allthings::webhooks {

// Whether a receiver should be sent webhooks now: what /readyz answers (200 or 503).
struct Readiness {
  bool ready = false;
  // "ready", or why not: "not_started" (workers not running yet), "draining" (a graceful
  // shutdown began), "stopping", "stopped", "inbox_unavailable" (its latest write failed),
  // "queue_full" (queue_capacity events held).
  const char* reason = "not_started";
};

}  // namespace allthings::webhooks
