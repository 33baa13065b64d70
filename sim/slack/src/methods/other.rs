//! `auth.test`, `reactions.add`, `users.info`, `usergroups.users.list`.

use serde_json::{Map, json};

use super::{Answer, ApiError, Params, visible_channel};
use crate::model::World;

pub(super) fn auth_test(world: &mut World) -> Answer {
    let mut out = Map::new();
    out.insert(
        "url".into(),
        json!(format!("https://{}.slack.com/", world.team.name)),
    );
    out.insert("team".into(), json!(world.team.name));
    out.insert("user".into(), json!(world.bot.name));
    out.insert("team_id".into(), json!(world.team.id));
    out.insert("user_id".into(), json!(world.bot.user_id));
    out.insert("bot_id".into(), json!(world.bot.bot_id));
    out.insert("is_enterprise_install".into(), json!(false));
    Ok(out)
}

/// Emoji names as Slack takes them: without colons.
fn valid_emoji(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_+-'".contains(c))
}

pub(super) fn reactions_add(world: &mut World, p: &Params) -> Answer {
    let channel = p.required("channel")?;
    let channel = visible_channel(world, &channel, true)?.id.clone();
    let ts = p
        .ts("timestamp", "message_not_found")?
        .ok_or_else(|| ApiError {
            code: "invalid_arguments",
            messages: vec!["[ERROR] missing required field: timestamp".into()],
        })?;
    let name = p.required("name")?;
    if !valid_emoji(&name) {
        return Err(ApiError::new("invalid_name"));
    }
    let bot = world.bot.user_id.clone();
    let message = world
        .messages
        .get_mut(&channel)
        .and_then(|msgs| msgs.get_mut(&ts))
        .ok_or_else(|| ApiError::new("message_not_found"))?;
    match message.reactions.iter_mut().find(|(n, _)| *n == name) {
        Some((_, users)) if users.contains(&bot) => return Err(ApiError::new("already_reacted")),
        Some((_, users)) => users.push(bot),
        None => message.reactions.push((name, vec![bot])),
    }
    Ok(Map::new())
}

pub(super) fn users_info(world: &mut World, p: &Params) -> Answer {
    let id = p.required("user")?;
    let user = world
        .user(&id)
        .ok_or_else(|| ApiError::new("user_not_found"))?;
    let mut out = Map::new();
    out.insert("user".into(), world.render_user(user));
    Ok(out)
}

pub(super) fn usergroup_users(world: &mut World, p: &Params) -> Answer {
    let id = p.required("usergroup")?;
    let group = world
        .usergroups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::new("no_such_subteam"))?;
    let mut out = Map::new();
    out.insert("users".into(), json!(group.users));
    Ok(out)
}
