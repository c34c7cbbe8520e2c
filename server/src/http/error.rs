//! The REST API's errors are the app's one error type ([`app::error::AppError`]): the same
//! variants, statuses and messages as the server functions, as `{"error": {"code", "message"}}`.

pub use app::error::{internal, AppError as ApiError, ErrorBody, ErrorDetail};
