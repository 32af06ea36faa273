//! Turns `validator` results into one 400 problem whose detail names every failing field
//! by its wire (camelCase) name: `name: must be 1 to 100 characters; scopes: …`.

use std::fmt::Write as _;

use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::ApiError;

/// Runs the `Validate` rules of a request DTO.
///
/// # Errors
/// 400 `validation_error` listing every failing field.
pub fn validate(dto: &impl Validate) -> Result<(), ApiError> {
    dto.validate()
        .map_err(|errors| ApiError::validation(describe(&errors)))
}

fn describe(errors: &ValidationErrors) -> String {
    let mut lines: Vec<String> = Vec::new();
    collect(errors, "", &mut lines);
    lines.sort();
    lines.join("; ")
}

fn collect(errors: &ValidationErrors, prefix: &str, lines: &mut Vec<String>) {
    for (field, kind) in errors.errors() {
        let path = format!("{prefix}{}", camel_case(field));
        match kind {
            ValidationErrorsKind::Field(failures) => {
                for failure in failures {
                    let mut line = format!("{path}: ");
                    match &failure.message {
                        Some(message) => line.push_str(message),
                        None => {
                            let _ = write!(line, "is invalid ({})", failure.code);
                        }
                    }
                    lines.push(line);
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &format!("{path}."), lines),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]."), lines);
                }
            }
        }
    }
}

/// `grace_period_seconds` → `gracePeriodSeconds`.
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Validate)]
    struct Sample {
        #[validate(length(min = 1, message = "must not be empty"))]
        display_name: String,
        #[validate(range(max = 3, message = "must be at most 3"))]
        retry_count: u32,
    }

    #[test]
    fn every_failing_field_is_named_in_camel_case() {
        let err = validate(&Sample {
            display_name: String::new(),
            retry_count: 4,
        })
        .unwrap_err();

        assert_eq!(
            err.detail(),
            "displayName: must not be empty; retryCount: must be at most 3"
        );
    }
}
