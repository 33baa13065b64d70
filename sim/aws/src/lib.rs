//! Simulated AWS for SOPilot: CloudWatch (Smithy RPC-v2 CBOR), CloudWatch Logs and Cost Explorer (JSON 1.1).
//!
//! Empty for now; built with the CloudWatch, Cost Explorer and Slack issue.
