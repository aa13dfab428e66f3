#pragma once

// Recovering missed events from Allthings' Webhooks API and managing webhook registrations.
// Needs cpp-httplib with OpenSSL; link allthings::webhooks_reconcile.
#include "reconcile/api_client.hpp"
#include "reconcile/api_error.hpp"
#include "reconcile/api_settings.hpp"
#include "reconcile/credentials.hpp"
#include "reconcile/deliveries.hpp"
#include "reconcile/reconciler.hpp"
#include "reconcile/registrations.hpp"
#include "reconcile/report.hpp"
