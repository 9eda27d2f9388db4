//! Origins: the serialized-origin grammar, patterns, and the compiled matcher that answers
//! "is this request `Origin` listed?" in time independent of how many origins are configured.

mod matcher;
pub(crate) mod parse;
pub(crate) mod pattern;

pub(crate) use matcher::OriginMatcher;
