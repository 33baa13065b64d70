//! Simulated Slack Web API for SOPilot, recording every request.
//!
//! Empty for now; built with the CloudWatch, Cost Explorer and Slack issue.
