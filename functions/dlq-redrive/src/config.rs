//! Which DLQ goes back to which source queue, and the redrive limit: read once at cold start.

use std::collections::HashSet;

use serde::Deserialize;
use shared::config::{ConfigError, Environment};

use crate::error::{RouteProblem, RoutesError};
use crate::queue_address::{QueueArn, QueueUrl};

/// Names of the environment variables; [`crate::ENV_VARS`] lists them all.
pub mod env {
    /// JSON array of routes: `[{"name","dlqUrl","dlqArn","sourceUrl","sourceArn","moveDestinations"?}, …]`.
    /// Required.
    pub const REDRIVE_ROUTES: &str = "REDRIVE_ROUTES";
    /// A message whose `redrive-count` has reached this stays in the DLQ (parked). Default 3.
    pub const REDRIVE_MAX_COUNT: &str = "REDRIVE_MAX_COUNT";
}

/// Default of [`env::REDRIVE_MAX_COUNT`]: three trips back are enough for a fix to show; a message
/// failing after that needs a person, not another loop.
pub const DEFAULT_MAX_REDRIVE_COUNT: u32 = 3;

/// One DLQ and the queue its messages came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// Logical name operators use in requests (`ticket`, `notification`).
    pub name: String,
    pub dlq_url: String,
    pub dlq_arn: String,
    pub source_url: String,
    pub source_arn: String,
    /// Queue ARNs a move task may send this DLQ's messages to besides the source (a quarantine
    /// queue, say). Optional; empty: only the source.
    #[serde(default)]
    pub move_destinations: Vec<String>,
}

impl Route {
    pub fn is_fifo(&self) -> bool {
        self.dlq_url.ends_with(".fifo")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda; `dlq-redrive` when unset): its metrics' dimension.
    pub function_name: String,
    pub routes: Vec<Route>,
    pub max_redrive_count: u32,
}

impl RedriveConfig {
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        let raw = environment.required(
            env::REDRIVE_ROUTES,
            "JSON array of {name, dlqUrl, dlqArn, sourceUrl, sourceArn, moveDestinations?}: which DLQ is redriven to which queue",
        )?;
        let routes = parse_routes(&raw).map_err(|error| ConfigError::Malformed {
            name: env::REDRIVE_ROUTES.to_owned(),
            value: raw.clone(),
            reason: error.to_string(),
        })?;
        let max_redrive_count = environment.parse_in(env::REDRIVE_MAX_COUNT, DEFAULT_MAX_REDRIVE_COUNT, 1..=1000)?;
        Ok(Self {
            function_name: environment
                .optional(shared::worker::env::AWS_LAMBDA_FUNCTION_NAME)
                .unwrap_or_else(|| "dlq-redrive".to_owned()),
            routes,
            max_redrive_count,
        })
    }

    /// The route a request names: its logical name, its DLQ's URL or its DLQ's ARN.
    pub fn route(&self, queue: &str) -> Option<&Route> {
        self.routes
            .iter()
            .find(|route| route.name == queue || route.dlq_url == queue || route.dlq_arn == queue)
    }

    pub fn route_names(&self) -> Vec<&str> {
        self.routes.iter().map(|route| route.name.as_str()).collect()
    }
}

fn parse_routes(raw: &str) -> Result<Vec<Route>, RoutesError> {
    let routes: Vec<Route> = serde_json::from_str(raw).map_err(|e| RoutesError::NotRoutes(e.to_string()))?;
    if routes.is_empty() {
        return Err(RoutesError::Empty);
    }
    let mut names = HashSet::new();
    let mut dlqs = HashSet::new();
    for (index, route) in routes.iter().enumerate() {
        let at = |problem| RoutesError::Route {
            index,
            name: route.name.clone(),
            problem,
        };
        if !is_route_name(&route.name) {
            return Err(at(RouteProblem::BadName));
        }
        if !names.insert(route.name.as_str()) {
            return Err(at(RouteProblem::DuplicateName));
        }
        check_queues(route).map_err(at)?;
        if !dlqs.insert(route.dlq_arn.as_str()) {
            return Err(at(RouteProblem::SharedDlq));
        }
    }
    Ok(routes)
}

fn is_route_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The route's queues: well-formed, URL and ARN naming the same queue, the DLQ not its own source,
/// and every queue FIFO or every queue standard.
fn check_queues(route: &Route) -> Result<(), RouteProblem> {
    let dlq = check_pair(["dlqUrl", "dlqArn"], &route.dlq_url, &route.dlq_arn)?;
    let source = check_pair(["sourceUrl", "sourceArn"], &route.source_url, &route.source_arn)?;
    if dlq == source {
        return Err(RouteProblem::SameQueue);
    }
    if dlq.is_fifo() != source.is_fifo() {
        return Err(RouteProblem::MixedFifo {
            dlq: dlq.name,
            source_queue: source.name,
        });
    }
    for destination in &route.move_destinations {
        let arn = QueueArn::parse(destination).map_err(RouteProblem::BadDestination)?;
        if arn == dlq {
            return Err(RouteProblem::DestinationIsTheDlq);
        }
        if arn.is_fifo() != dlq.is_fifo() {
            return Err(RouteProblem::DestinationMixedFifo {
                destination: destination.clone(),
                dlq: dlq.name,
            });
        }
    }
    Ok(())
}

/// Checks a queue's URL and ARN (named by their fields) and that they name the same queue.
fn check_pair(fields: [&'static str; 2], url: &str, arn: &str) -> Result<QueueArn, RouteProblem> {
    let [url_field, arn_field] = fields;
    let bad = |field| move |error| RouteProblem::BadAddress { field, error };
    let parsed_url = QueueUrl::parse(url).map_err(bad(url_field))?;
    let parsed_arn = QueueArn::parse(arn).map_err(bad(arn_field))?;
    if parsed_url.name != parsed_arn.name || parsed_url.account != parsed_arn.account {
        return Err(RouteProblem::DifferentQueues {
            url_field,
            url: url.to_owned(),
            arn_field,
            arn: arn.to_owned(),
        });
    }
    Ok(parsed_arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(name: &str, dlq: &str, source: &str) -> serde_json::Value {
        json!({
            "name": name,
            "dlqUrl": format!("https://sqs.us-east-1.amazonaws.com/123456789012/{dlq}"),
            "dlqArn": format!("arn:aws:sqs:us-east-1:123456789012:{dlq}"),
            "sourceUrl": format!("https://sqs.us-east-1.amazonaws.com/123456789012/{source}"),
            "sourceArn": format!("arn:aws:sqs:us-east-1:123456789012:{source}"),
        })
    }

    fn config(routes: serde_json::Value) -> Result<RedriveConfig, ConfigError> {
        RedriveConfig::from_env(&Environment::from_pairs([(env::REDRIVE_ROUTES, routes.to_string())]))
    }

    fn reason(routes: serde_json::Value) -> String {
        match config(routes) {
            Err(ConfigError::Malformed { name, reason, .. }) => {
                assert_eq!(name, env::REDRIVE_ROUTES);
                reason
            }
            other => panic!("expected a malformed REDRIVE_ROUTES, got {other:?}"),
        }
    }

    #[test]
    fn reads_routes_and_the_default_limit() {
        let config = config(json!([
            route("ticket", "ticket-dlq", "ticket-queue"),
            route("notification", "notification-dlq.fifo", "notification-queue.fifo")
        ]))
        .unwrap();
        assert_eq!(config.route_names(), ["ticket", "notification"]);
        assert_eq!(config.max_redrive_count, DEFAULT_MAX_REDRIVE_COUNT);
        let notification = &config.routes[1];
        assert!(notification.is_fifo());
        assert_eq!(config.route("notification"), Some(notification));
        assert_eq!(config.route(&notification.dlq_url), Some(notification));
        assert_eq!(config.route(&notification.dlq_arn), Some(notification));
        assert_eq!(config.route("notification-queue.fifo"), None);
    }

    #[test]
    fn the_function_name_is_lambdas_or_dlq_redrive() {
        let routes = json!([route("ticket", "ticket-dlq", "ticket-queue")]).to_string();
        let named = RedriveConfig::from_env(&Environment::from_pairs([
            (env::REDRIVE_ROUTES, routes.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "app-DlqRedrive"),
        ]))
        .unwrap();
        assert_eq!(named.function_name, "app-DlqRedrive");
        assert_eq!(
            config(json!([route("ticket", "ticket-dlq", "ticket-queue")]))
                .unwrap()
                .function_name,
            "dlq-redrive"
        );
    }

    #[test]
    fn missing_routes_name_the_variable() {
        let error = RedriveConfig::from_env(&Environment::default()).unwrap_err();
        assert!(
            matches!(&error, ConfigError::Missing { name, .. } if name == env::REDRIVE_ROUTES),
            "{error}"
        );
        assert!(error.to_string().contains("REDRIVE_ROUTES"));
    }

    #[test]
    fn malformed_routes_are_refused_with_the_reason() {
        assert!(reason(json!({"name": "x"})).contains("not a JSON array"));
        assert!(reason(json!([])).contains("empty"));
        let mut extra = route("ticket", "d", "s");
        extra["dlqURL"] = json!("typo");
        assert!(reason(json!([extra])).contains("unknown field"));
        let duplicate = reason(json!([route("ticket", "d1", "s1"), route("ticket", "d2", "s2")]));
        assert!(
            duplicate.contains("route 1") && duplicate.contains("unique"),
            "{duplicate}"
        );
        let shared_dlq = reason(json!([route("a", "d", "s1"), route("b", "d", "s2")]));
        assert!(shared_dlq.contains("one source"), "{shared_dlq}");
        let mixed = reason(json!([route("ticket", "d.fifo", "s")]));
        assert!(mixed.contains("both be FIFO or both standard"), "{mixed}");
        assert!(reason(json!([route("ticket", "same", "same")])).contains("same queue"));
        let mut bad_arn = route("ticket", "d", "s");
        bad_arn["sourceArn"] = json!("arn:aws:sns:us-east-1:123456789012:s");
        assert!(reason(json!([bad_arn])).contains("sourceArn"));
        let mut bad_url = route("ticket", "d", "s");
        bad_url["dlqUrl"] = json!("d");
        assert!(reason(json!([bad_url])).contains("dlqUrl"));
        let mut swapped = route("ticket", "d", "s");
        swapped["dlqArn"] = json!("arn:aws:sqs:us-east-1:123456789012:s");
        assert!(reason(json!([swapped])).contains("different queues"));
        assert!(reason(json!([route("bad name", "d", "s")])).contains("name must be"));
        let mut elsewhere = route("ticket", "d", "s");
        elsewhere["moveDestinations"] = json!(["arn:aws:sqs:us-east-1:123456789012:q.fifo"]);
        assert!(reason(json!([elsewhere.clone()])).contains("both be FIFO"));
        elsewhere["moveDestinations"] = json!(["arn:aws:sqs:us-east-1:123456789012:d"]);
        assert!(reason(json!([elsewhere.clone()])).contains("the DLQ itself"));
        elsewhere["moveDestinations"] = json!(["not-an-arn"]);
        assert!(reason(json!([elsewhere])).contains("moveDestinations"));
    }

    #[test]
    fn the_redrive_limit_is_checked() {
        let routes = json!([route("ticket", "d", "s")]).to_string();
        let with = |limit: &str| {
            RedriveConfig::from_env(&Environment::from_pairs([
                (env::REDRIVE_ROUTES, routes.as_str()),
                (env::REDRIVE_MAX_COUNT, limit),
            ]))
        };
        assert_eq!(with("5").unwrap().max_redrive_count, 5);
        for bad in ["0", "many", "-1"] {
            let error = with(bad).unwrap_err();
            assert!(error.to_string().contains("REDRIVE_MAX_COUNT"), "{error}");
        }
    }

    /// The template sets exactly `ENV_VARS`: each one must be read (garbage in it is refused), and
    /// they must be enough (nothing else is required).
    #[test]
    fn env_vars_lists_exactly_what_the_config_reads() {
        let routes = json!([route("ticket", "d", "s")]).to_string();
        let valid: Vec<(&str, &str)> = crate::ENV_VARS
            .iter()
            .map(|&name| {
                (
                    name,
                    if name == env::REDRIVE_ROUTES {
                        routes.as_str()
                    } else {
                        "2"
                    },
                )
            })
            .collect();
        RedriveConfig::from_env(&Environment::from_pairs(valid.clone())).expect("ENV_VARS are enough");
        for &name in crate::ENV_VARS {
            let broken = valid.iter().map(|&(n, v)| (n, if n == name { "garbage" } else { v }));
            let error = RedriveConfig::from_env(&Environment::from_pairs(broken))
                .expect_err("a variable in ENV_VARS that the config does not read");
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
