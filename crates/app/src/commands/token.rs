//! `keyward token`: mints a customer-API JWT with the configured secret, for
//! development and scripts. The token is printed alone on stdout.

use keyward_http::auth::permissions::ALL as KNOWN_PERMISSIONS;
use keyward_http::auth::{ActiveContext, Audience, Claims, JwtSigner};

use crate::cli::TokenArgs;
use crate::error::AppError;
use crate::jwt_secret;
use crate::settings::Settings;

/// The permissions `--permissions` names (trimmed, empty names dropped), or every
/// customer-API permission when it was not given. Shared by `token` and `dashboard-link`.
///
/// # Errors
/// An unknown permission name (a typo would otherwise give a token that is refused).
pub fn permissions(requested: Option<&[String]>) -> Result<Vec<String>, AppError> {
    let permissions = match requested {
        Some(names) => names
            .iter()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect::<Vec<_>>(),
        None => KNOWN_PERMISSIONS.iter().map(|&p| p.to_owned()).collect(),
    };
    if let Some(unknown) = permissions
        .iter()
        .find(|name| !KNOWN_PERMISSIONS.contains(&name.as_str()))
    {
        return Err(AppError::Usage(format!(
            "unknown permission `{unknown}`; known: {}",
            KNOWN_PERMISSIONS.join(", ")
        )));
    }
    Ok(permissions)
}

/// Builds the claims for `args`, issued at `now` (seconds since the epoch).
///
/// # Errors
/// An unknown permission name (a typo would otherwise give a token that is refused).
pub fn claims(args: &TokenArgs, settings: &Settings, now: u64) -> Result<Claims, AppError> {
    let permissions = permissions(args.permissions.as_deref())?;
    let context = if args.admin {
        ActiveContext::admin(args.customer)
    } else {
        ActiveContext::customer(args.customer)
    };
    Ok(Claims {
        sub: args.subject.clone(),
        exp: now + args.ttl,
        nbf: None,
        iat: Some(now),
        active_context: Some(context),
        permissions,
        iss: settings.auth.issuer.clone(),
        aud: settings.auth.audience.clone().map(Audience::One),
    })
}

/// # Errors
/// The secret cannot be resolved, or a permission is unknown.
pub fn run(args: &TokenArgs, settings: &Settings) -> Result<(), AppError> {
    let jwt = jwt_secret::resolve(&settings.auth)?;
    let claims = claims(args, settings, jsonwebtoken::get_current_timestamp())?;
    let token = JwtSigner::new(&jwt.secret)
        .sign(&claims)
        .map_err(|err| AppError::Usage(err.to_string()))?;
    println!("{token}");
    Ok(())
}
