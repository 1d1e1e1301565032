//! What one request is, identified once by the proxy and handed to every hook: the service, the
//! operation, and what it touches (DynamoDB items with their keys, each action of a
//! TransactWriteItems in order; the SQS queue; the SNS topic).
//!
//! Item keys need each table's key schema: a PutItem names its item, not which attributes are
//! the key. [`crate::tables::Tables`] reads it from the emulator once per table.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::form::form_fields;
use crate::tables::TableInfo;

/// The service of a request, from its `X-Amz-Target` (JSON protocols) or its SigV4 credential
/// scope (`Credential=…/<date>/<region>/<service>/aws4_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Service {
    DynamoDb,
    Sqs,
    Sns,
    Ses,
    Other,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::DynamoDb,
        Service::Sqs,
        Service::Sns,
        Service::Ses,
        Service::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::DynamoDb => "dynamodb",
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Ses => "ses",
            Service::Other => "other",
        }
    }

    /// The label of the service in an operation's full name (`DynamoDB.PutItem`).
    pub fn label(self) -> &'static str {
        match self {
            Service::DynamoDb => "DynamoDB",
            Service::Sqs => "SQS",
            Service::Sns => "SNS",
            Service::Ses => "SES",
            Service::Other => "other",
        }
    }

    pub fn identify(target: Option<&str>, authorization: Option<&str>) -> Service {
        if let Some(target) = target {
            if target.starts_with("DynamoDB_") {
                return Service::DynamoDb;
            }
            if target.starts_with("AmazonSQS.") {
                return Service::Sqs;
            }
        }
        match credential_scope(authorization, 3) {
            Some("dynamodb") => Service::DynamoDb,
            Some("sqs") => Service::Sqs,
            Some("sns") => Service::Sns,
            Some("ses") => Service::Ses,
            _ => Service::Other,
        }
    }
}

/// Field `index` of the SigV4 credential (`<key>/<date>/<region>/<service>/aws4_request`).
fn credential_scope(authorization: Option<&str>, index: usize) -> Option<&str> {
    authorization
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split(['/', ',']).nth(index))
}

/// What a DynamoDB action does to its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Access {
    Get,
    Put,
    Update,
    Delete,
    ConditionCheck,
}

impl Access {
    pub fn writes(self) -> bool {
        matches!(self, Access::Put | Access::Update | Access::Delete)
    }
}

/// One attribute of a primary key: its name and its value as `<type>:<value>` (`S:abc`, `N:1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct KeyPart {
    pub name: String,
    pub value: String,
}

impl KeyPart {
    /// `name` with a string value.
    pub fn string(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: format!("S:{value}"),
        }
    }
}

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ItemKey {
    pub table: String,
    pub partition: KeyPart,
    pub sort: Option<KeyPart>,
}

impl ItemKey {
    /// The partition the item lives in: its table and partition key value.
    pub fn partition_key(&self) -> PartitionKey {
        PartitionKey {
            table: self.table.clone(),
            value: self.partition.value.clone(),
        }
    }
}

/// A table's partition key value: what DynamoDB's per-partition throughput applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PartitionKey {
    pub table: String,
    pub value: String,
}

/// One item a DynamoDB call touches.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItemAccess {
    pub key: ItemKey,
    pub access: Access,
    /// The item's size as DynamoDB counts it (names and values), estimated from the request: the
    /// written item for a Put, the key and the update's values otherwise.
    pub size_bytes: usize,
    /// A strongly consistent read (GetItem with `ConsistentRead`).
    pub consistent: bool,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Call {
    /// Order of arrival at the proxy, from 0.
    pub id: u64,
    pub service: Service,
    /// The API's name: `PutItem`, `TransactWriteItems`, `SendMessage`, `Publish`, `SendEmail`;
    /// `<METHOD> <path>` when the request names none.
    pub operation: String,
    /// The region of the request's credential scope.
    pub region: Option<String>,
    /// DynamoDB: every item the call names, in request order (each action of a transaction).
    pub items: Vec<ItemAccess>,
    /// DynamoDB: every table the call names.
    pub tables: Vec<String>,
    /// DynamoDB: what is known of those tables (key schema, ARN, billing mode).
    pub table_info: BTreeMap<String, TableInfo>,
    /// SQS: the queue URL.
    pub queue: Option<String>,
    /// SNS: the topic or endpoint ARN.
    pub topic: Option<String>,
    pub body_len: usize,
}

impl Call {
    /// `DynamoDB.PutItem`, `SQS.SendMessage`, `SNS.Publish` … (`other <METHOD> <path>` when the
    /// request is not an AWS API call).
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.service.label(), self.operation)
    }
}

/// What the proxy read from a request, before the tables' key schemas are known. A JSON body
/// (the awsJson protocols: DynamoDB, SQS) is parsed once, here.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub target: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
    json: Value,
}

impl<'a> RequestFacts<'a> {
    pub fn new(
        method: &'a str,
        path: &'a str,
        target: Option<&'a str>,
        authorization: Option<&'a str>,
        body: &'a [u8],
    ) -> Self {
        let json = match target {
            Some(_) => serde_json::from_slice(body).unwrap_or(Value::Null),
            None => Value::Null,
        };
        Self {
            method,
            path,
            target,
            authorization,
            body,
            json,
        }
    }
    pub fn service(&self) -> Service {
        Service::identify(self.target, self.authorization)
    }

    /// The DynamoDB tables whose key schema identifying this request needs.
    pub fn tables(&self) -> Vec<String> {
        if self.service() != Service::DynamoDb {
            return Vec::new();
        }
        let mut tables: Vec<String> = dynamodb_actions(&operation_of_target(self.target), &self.json)
            .into_iter()
            .filter_map(|(table, _, _)| table)
            .collect();
        tables.sort();
        tables.dedup();
        tables
    }

    /// The call, with `schema` giving each table's key schema (tables it does not know are
    /// named in `tables` but their items are not identified).
    pub fn identify(&self, id: u64, schema: &dyn Fn(&str) -> Option<TableInfo>) -> Call {
        let service = self.service();
        let region = credential_scope(self.authorization, 2).map(str::to_owned);
        let mut call = Call {
            id,
            service,
            operation: String::new(),
            region,
            items: Vec::new(),
            tables: Vec::new(),
            table_info: BTreeMap::new(),
            queue: None,
            topic: None,
            body_len: self.body.len(),
        };
        match service {
            Service::DynamoDb => {
                call.operation = operation_of_target(self.target);
                identify_dynamodb(&mut call, &self.json, schema);
            }
            Service::Sqs if self.target.is_some() => {
                call.operation = operation_of_target(self.target);
                call.queue = self.json["QueueUrl"].as_str().map(str::to_owned);
            }
            Service::Ses => call.operation = ses_operation(self.method, self.path),
            _ => {
                let form = form_fields(self.body);
                call.operation = match form.get("Action") {
                    Some(action) => action.clone(),
                    None => format!("{} {}", self.method, self.path),
                };
                call.queue = form.get("QueueUrl").cloned();
                call.topic = form.get("TopicArn").or_else(|| form.get("TargetArn")).cloned();
            }
        }
        call
    }
}

/// `DynamoDB_20120810.PutItem` → `PutItem`.
fn operation_of_target(target: Option<&str>) -> String {
    target
        .and_then(|t| t.split_once('.'))
        .map(|(_, operation)| operation.to_owned())
        .unwrap_or_default()
}

/// SESv2 is restJson1: the operation is in the method and path.
fn ses_operation(method: &str, path: &str) -> String {
    let path = path.trim_end_matches('/');
    match (method, path) {
        ("POST", "/v2/email/outbound-emails") => "SendEmail".to_owned(),
        ("POST", "/v2/email/outbound-bulk-emails") => "SendBulkEmail".to_owned(),
        ("GET", "/v2/email/account") => "GetAccount".to_owned(),
        ("GET", "/v2/email/identities") => "ListEmailIdentities".to_owned(),
        ("POST", "/v2/email/identities") => "CreateEmailIdentity".to_owned(),
        _ => format!("{method} {path}"),
    }
}

/// One item-level action of a DynamoDB request body: its table, what it does, and the attributes
/// that hold the item's key (the whole item for a Put).
type Action<'v> = (Option<String>, Access, &'v Value);

fn dynamodb_actions<'v>(operation: &str, body: &'v Value) -> Vec<Action<'v>> {
    let table = || body["TableName"].as_str().map(str::to_owned);
    match operation {
        "GetItem" => vec![(table(), Access::Get, &body["Key"])],
        "PutItem" => vec![(table(), Access::Put, &body["Item"])],
        "UpdateItem" => vec![(table(), Access::Update, &body["Key"])],
        "DeleteItem" => vec![(table(), Access::Delete, &body["Key"])],
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|action| action.as_object()?.iter().next())
            .map(|(kind, op)| {
                let access = match kind.as_str() {
                    "Put" => Access::Put,
                    "Update" => Access::Update,
                    "Delete" => Access::Delete,
                    "ConditionCheck" => Access::ConditionCheck,
                    _ => Access::Get,
                };
                let attributes = if access == Access::Put { &op["Item"] } else { &op["Key"] };
                (op["TableName"].as_str().map(str::to_owned), access, attributes)
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => batch_actions(&body["RequestItems"]),
        _ => vec![(table(), Access::Get, &Value::Null)],
    }
}

fn batch_actions(request_items: &Value) -> Vec<Action<'_>> {
    let mut actions = Vec::new();
    for (table, requests) in request_items.as_object().into_iter().flatten() {
        if let Some(keys) = requests["Keys"].as_array() {
            actions.extend(keys.iter().map(|key| (Some(table.clone()), Access::Get, key)));
        }
        for request in requests.as_array().into_iter().flatten() {
            if !request["PutRequest"].is_null() {
                actions.push((Some(table.clone()), Access::Put, &request["PutRequest"]["Item"]));
            } else if !request["DeleteRequest"].is_null() {
                actions.push((Some(table.clone()), Access::Delete, &request["DeleteRequest"]["Key"]));
            }
        }
    }
    actions
}

fn identify_dynamodb(call: &mut Call, body: &Value, schema: &dyn Fn(&str) -> Option<TableInfo>) {
    let consistent = body["ConsistentRead"].as_bool().unwrap_or(false);
    let extra = update_values_size(body);
    for (table, access, attributes) in dynamodb_actions(&call.operation, body) {
        let Some(table) = table else { continue };
        if !call.tables.contains(&table) {
            call.tables.push(table.clone());
        }
        let Some(info) = schema(&table) else { continue };
        call.table_info.insert(table.clone(), info.clone());
        let Some(key) = item_key(&table, &info, attributes) else {
            continue;
        };
        let size = attributes_size(attributes) + if access == Access::Update { extra } else { 0 };
        call.items.push(ItemAccess {
            key,
            access,
            size_bytes: size,
            consistent: consistent || call.operation.starts_with("Transact"),
        });
    }
}

/// An UpdateItem writes its key plus the values it sets.
fn update_values_size(body: &Value) -> usize {
    body["ExpressionAttributeValues"]
        .as_object()
        .map(|values| values.values().map(value_size).sum())
        .unwrap_or(0)
}

fn item_key(table: &str, info: &TableInfo, attributes: &Value) -> Option<ItemKey> {
    let part = |name: &str| {
        attribute_text(&attributes[name]).map(|value| KeyPart {
            name: name.to_owned(),
            value,
        })
    };
    let partition = part(&info.partition_key)?;
    let sort = match &info.sort_key {
        Some(name) => Some(part(name)?),
        None => None,
    };
    Some(ItemKey {
        table: table.to_owned(),
        partition,
        sort,
    })
}

/// `{"S":"abc"}` → `S:abc`: a key attribute's type and value.
fn attribute_text(value: &Value) -> Option<String> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    Some(format!("{kind}:{}", inner.as_str()?))
}

/// Item size as DynamoDB counts it ("Item sizes and formats"): the UTF-8 length of each
/// attribute name plus its value (strings their UTF-8 length, numbers about one byte per two
/// digits plus one, binary its decoded length, containers 3 bytes plus their elements).
pub fn attributes_size(attributes: &Value) -> usize {
    attributes
        .as_object()
        .map(|map| map.iter().map(|(name, value)| name.len() + value_size(value)).sum())
        .unwrap_or(0)
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let text_len = |v: &Value| v.as_str().map_or(0, str::len);
    match kind.as_str() {
        "S" => text_len(inner),
        "N" => text_len(inner).div_ceil(2) + 1,
        "B" => text_len(inner) * 3 / 4,
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner.as_array().map_or(0, |a| a.iter().map(text_len).sum()),
        "L" => 3 + inner.as_array().map_or(0, |a| a.iter().map(value_size).sum()),
        "M" => 3 + attributes_size(inner),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(table: &str) -> Option<TableInfo> {
        (table == "tickets").then(|| TableInfo {
            partition_key: "pk".into(),
            sort_key: Some("sk".into()),
            arn: "arn:aws:dynamodb:us-east-1:123456789012:table/tickets".into(),
            on_demand: true,
        })
    }

    fn facts<'a>(target: &'a str, body: &'a [u8]) -> RequestFacts<'a> {
        RequestFacts::new("POST", "/", Some(target), None, body)
    }

    #[test]
    fn services_are_told_apart_by_target_or_credential_scope() {
        assert_eq!(
            Service::identify(Some("DynamoDB_20120810.PutItem"), None),
            Service::DynamoDb
        );
        assert_eq!(Service::identify(Some("AmazonSQS.SendMessage"), None), Service::Sqs);
        let auth = |service: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-1/{service}/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc"
            )
        };
        assert_eq!(Service::identify(None, Some(&auth("sns"))), Service::Sns);
        assert_eq!(Service::identify(None, Some(&auth("ses"))), Service::Ses);
        assert_eq!(Service::identify(None, Some(&auth("sqs"))), Service::Sqs);
        assert_eq!(Service::identify(None, Some(&auth("lambda"))), Service::Other);
        assert_eq!(Service::identify(None, None), Service::Other);
        assert_eq!(credential_scope(Some(&auth("sns")), 2), Some("us-east-1"));
    }

    #[test]
    fn each_action_of_a_transaction_is_identified_in_order_with_its_key() {
        let body = serde_json::json!({"TransactItems": [
            {"Put": {"TableName": "tickets", "Item": {"pk": {"S": "E1"}, "sk": {"S": "T1"}, "userId": {"S": "u"}}}},
            {"Update": {"TableName": "tickets", "Key": {"pk": {"S": "E1"}, "sk": {"S": "M"}},
                        "UpdateExpression": "SET n = n + :one"}},
            {"ConditionCheck": {"TableName": "other", "Key": {"id": {"S": "x"}}}}
        ], "ExpressionAttributeValues": {}})
        .to_string();
        let request = facts("DynamoDB_20120810.TransactWriteItems", body.as_bytes());
        assert_eq!(request.tables(), vec!["other".to_owned(), "tickets".to_owned()]);
        let call = request.identify(7, &schema);
        assert_eq!((call.id, call.operation.as_str()), (7, "TransactWriteItems"));
        assert_eq!(call.full_name(), "DynamoDB.TransactWriteItems");
        assert_eq!(call.tables, vec!["tickets".to_owned(), "other".to_owned()]);
        // The table without a known schema is named but its item is not identified.
        assert_eq!(call.items.len(), 2);
        assert_eq!(call.items[0].access, Access::Put);
        assert_eq!(call.items[0].key.partition, KeyPart::string("pk", "E1"));
        assert_eq!(call.items[0].key.sort, Some(KeyPart::string("sk", "T1")));
        assert_eq!(call.items[1].access, Access::Update);
        assert_eq!(call.items[1].key.sort, Some(KeyPart::string("sk", "M")));
        assert_eq!(call.items[0].key.partition_key(), call.items[1].key.partition_key());
        // pk(2) + "E1"(2), sk(2) + "T1"(2), userId(6) + "u"(1)
        assert_eq!(call.items[0].size_bytes, 15);
        assert!(call.items.iter().all(|item| item.consistent));
    }

    #[test]
    fn single_item_calls_sqs_sns_and_ses_are_identified() {
        let put = serde_json::json!({"TableName": "tickets", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "n": {"N": "12345"}}});
        let call = facts("DynamoDB_20120810.PutItem", put.to_string().as_bytes()).identify(0, &schema);
        assert_eq!(call.items.len(), 1);
        // Numbers: one byte per two digits, plus one.
        assert_eq!(call.items[0].size_bytes, 2 + 1 + 2 + 1 + 1 + 3 + 1);
        let get = serde_json::json!({"TableName": "tickets", "Key": {"pk": {"S": "a"}, "sk": {"S": "b"}}, "ConsistentRead": true});
        let call = facts("DynamoDB_20120810.GetItem", get.to_string().as_bytes()).identify(0, &schema);
        assert!(call.items[0].consistent && call.items[0].access == Access::Get);

        let send = br#"{"QueueUrl":"http://q/123/ticket-issue","MessageBody":"x"}"#;
        let call = facts("AmazonSQS.SendMessage", send).identify(0, &schema);
        assert_eq!(call.full_name(), "SQS.SendMessage");
        assert_eq!(call.queue.as_deref(), Some("http://q/123/ticket-issue"));

        let auth = "AWS4-HMAC-SHA256 Credential=t/20261122/eu-west-1/sns/aws4_request, SignedHeaders=host";
        let publish = RequestFacts::new(
            "POST",
            "/",
            None,
            Some(auth),
            b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Apush&Message=hi",
        );
        let call = publish.identify(0, &schema);
        assert_eq!(call.full_name(), "SNS.Publish");
        assert_eq!(call.topic.as_deref(), Some("arn:aws:sns:us-east-1:1:push"));
        assert_eq!(call.region.as_deref(), Some("eu-west-1"));

        let auth = "AWS4-HMAC-SHA256 Credential=t/20261122/us-east-1/ses/aws4_request";
        let email = RequestFacts::new("POST", "/v2/email/outbound-emails", None, Some(auth), b"{}");
        assert_eq!(email.identify(0, &schema).full_name(), "SES.SendEmail");
        let other = RequestFacts::new("GET", "/moto-api/data.json", None, None, b"");
        assert_eq!(other.identify(0, &schema).full_name(), "other.GET /moto-api/data.json");
    }
}
