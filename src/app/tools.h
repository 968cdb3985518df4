#pragma once
// The DBA's tools, subcommands of the same binary. Each prints to stdout,
// problems to stderr, and returns the process exit status.
#include "config/settings.h"

namespace storygate::app {

// Validates the mapping against the database: everything start-up checks,
// plus the real queries prepared and run on a sample, the conversions tried
// on it, the list query's use of an index, rows without a change time.
// Prints warnings and one sample record. 0 only when the mapping is servable.
int run_check(const config::settings& settings);

// The SQL both endpoints run and PostgreSQL's plan for each.
int run_explain(const config::settings& settings);

// The JSON DailyStory would get for --id, or for a page of the list.
int run_preview(const config::settings& settings);

// A commented starter mapping for --table, guessed from its columns and the
// tables that reference it.
int run_init(const config::settings& settings);

}  // namespace storygate::app
