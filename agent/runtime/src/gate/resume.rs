//! An approval decided after its run stopped (a restarted `sopilot serve`) is carried out
//! through the same stages as any call: resolved, dry-run and decided again, compared with
//! what the approver was shown, and executed only if nothing changed — with its audit row
//! synced first. It is never re-asked: there is no run left to wait for the answer.

use sopilot_protocol::{ApprovalState, CallOrigin};

use super::approve::{claim_execution, decision_path, difference, digest_of};
use super::call::{Call, Step, Stop};
use super::{CallScope, Gate, GateOutcome, NOT_OFFERED};
use crate::approval::{ApprovalRecord, digest};
use crate::events::EventLog;
use crate::store::StoreError;

impl Gate {
    /// Executes an approved call whose run is no longer waiting, if what it would do is
    /// still what the approver approved. The outcome is recorded on `log`'s run as call
    /// `CALL_ID-resumed`.
    pub async fn resume_approved(
        &self,
        log: &EventLog,
        scope: &CallScope,
        record: &ApprovalRecord,
    ) -> Result<GateOutcome, StoreError> {
        let call_id = format!("{}-resumed", record.call_id);
        let mut call = Call::begin(
            log,
            &call_id,
            &record.tool,
            record.args.clone(),
            CallOrigin::Api,
        )?;
        call.audit.approval = Some(crate::store::ApprovalRef(record.id.clone()));
        call.out.approval = Some((
            record.id.clone(),
            record.state,
            record.decided_by.clone().unwrap_or_default(),
        ));
        let placed = match self.place(&mut call, scope) {
            Ok(gate) => gate,
            Err(Stop::Halted) => return call.finish(),
            Err(Stop::Store(e)) => return Err(e),
        };
        match placed.resume_stages(&mut call, scope, record).await {
            Ok(()) | Err(Stop::Halted) => {}
            Err(Stop::Store(e)) => return Err(e),
        }
        call.finish()
    }

    async fn resume_stages(
        &self,
        call: &mut Call<'_>,
        scope: &CallScope,
        record: &ApprovalRecord,
    ) -> Step<()> {
        if record.state != ApprovalState::Approved {
            let why = format!("approval {} is {:?}, not approved", record.id, record.state);
            return Err(call.refuse(NOT_OFFERED, why));
        }
        let target = self.resolve(call, scope, CallOrigin::Api).await?;
        let assessed = self.assess(call, &target).await?;
        if digest(&record.tool, &call.args) != record.digest {
            let why = format!(
                "approval {} does not cover these arguments any more; nothing was executed",
                record.id
            );
            return Err(call.fail(format!("not executed: {why}"), why, None));
        }
        let guard = self.serialise(call, &target).await?;
        let verdict = self.decide(call, scope, &target, &assessed, true)?;
        let path = decision_path(&verdict);
        if digest_of(&assessed) != record.impact_digest || path != record.decision_path {
            let why = format!(
                "what approval {} covered changed after its run stopped ({}); nothing was executed — start the SOP again",
                record.id,
                difference(record, &assessed, &path)
            );
            return Err(call.fail(format!("not executed: {why}"), why, None));
        }
        claim_execution(call, record)?;
        self.execute(call, scope, &target, &assessed, guard).await
    }
}
