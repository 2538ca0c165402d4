//! The default ruleset, compiled into the binary: one entry per file in `rules/`.
//!
//! A test compares this list with the directory so a new rule file cannot be forgotten.

/// (file name, contents) of every embedded rule file, in load order.
pub const FILES: &[(&str, &str)] = &[
    ("global.toml", include_str!("../../rules/global.toml")),
    ("aws.toml", include_str!("../../rules/aws.toml")),
    ("github.toml", include_str!("../../rules/github.toml")),
    ("slack.toml", include_str!("../../rules/slack.toml")),
    ("stripe.toml", include_str!("../../rules/stripe.toml")),
    ("private-keys.toml", include_str!("../../rules/private-keys.toml")),
    ("jwt.toml", include_str!("../../rules/jwt.toml")),
    ("generic.toml", include_str!("../../rules/generic.toml")),
];
