//! ferromq broker library.
