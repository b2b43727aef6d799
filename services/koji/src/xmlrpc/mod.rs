//! Koji's XML-RPC dialect: values, documents, faults and keyword arguments.

mod decode;
mod encode;
mod fault;
mod value;

pub use decode::{
    fault_from_value, parse_call, parse_response, DecodeError, MethodCall, MethodResponse,
    MAX_DEPTH,
};
pub use encode::{write_call, write_fault, write_response, write_value};
pub use fault::{Fault, FaultKind};
pub use value::{decode_args, encode_args, is_truthy, ConversionError, Struct, Value, STARSTAR};
