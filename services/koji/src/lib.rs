//! Koji XML-RPC codec and typed async client
