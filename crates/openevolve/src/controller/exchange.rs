//! An iteration's conversation with the LLM: the prompt, each answer, what
//! came of it, and the repair turns that followed a child that did not
//! build. The prompt log keeps it for every iteration, failed ones included,
//! so a user can see what the model said when nothing came of it.

use openevolve_db::Outcome;
use openevolve_llm::{AnswerFrame, ChatMessage};

use crate::prompt::{AnswerLead, Prompt, with_lead};

/// One request and its answer.
#[derive(Debug, Clone)]
struct Turn {
    /// Whether rustc's suggested fixes, not the model, gave this turn's code.
    by_compiler: bool,
    asked: String,
    /// `None` when the call failed.
    answer: Option<String>,
    /// What came of the answer, and why in words.
    result: Option<(Outcome, Option<String>)>,
}

#[derive(Debug, Clone)]
pub(super) struct Exchange {
    system: String,
    turns: Vec<Turn>,
    /// The frame of every answer of the exchange: a repair's answer gives
    /// the same regions as the first.
    frame: Option<AnswerFrame>,
    /// How the last request's answer starts, within the frame.
    lead: AnswerLead,
}

impl Exchange {
    pub(super) fn new(prompt: &Prompt) -> Self {
        Self {
            system: prompt.system.clone(),
            turns: vec![Turn { by_compiler: false, asked: prompt.user.clone(), answer: None, result: None }],
            frame: prompt.frame.clone(),
            lead: AnswerLead::Code,
        }
    }

    fn last(&mut self) -> &mut Turn {
        self.turns.last_mut().expect("an exchange starts with a turn")
    }

    /// The model's answer to the last request.
    pub(super) fn answered(&mut self, text: &str) {
        self.last().answer = Some(text.to_string());
    }

    /// What came of the last answer, and why; the first word counts.
    pub(super) fn resolve(&mut self, outcome: Outcome, why: Option<&str>) {
        let turn = self.last();
        if turn.result.is_none() {
            turn.result = Some((outcome, why.map(str::to_string)));
        }
    }

    /// A follow-up request to the same model, whose answer starts with `lead`.
    pub(super) fn ask_again(&mut self, request: String, lead: AnswerLead) {
        self.turns.push(Turn { by_compiler: false, asked: request, answer: None, result: None });
        self.lead = lead;
    }

    /// A turn without the model: rustc's suggested fixes, whose code
    /// `changes` describes, applied to the last turn's child.
    pub(super) fn fixed_by_compiler(&mut self, changes: &str) {
        let asked = "(not sent: rustc's suggested fixes applied)".into();
        self.turns.push(Turn { by_compiler: true, asked, answer: Some(changes.to_string()), result: None });
    }

    /// Whether the last turn's code came from rustc's suggested fixes.
    pub(super) fn last_fixed_by_compiler(&self) -> bool {
        self.turns.last().is_some_and(|t| t.by_compiler)
    }

    /// Repair turns with the model so far (its turns after the first).
    pub(super) fn repairs(&self) -> usize {
        self.turns.iter().filter(|t| !t.by_compiler).count() - 1
    }

    /// How the child that built got there, if it took more than the first
    /// answer: `built after 1 repair turn and rustc's suggested fixes`.
    pub(super) fn build_path(&self) -> Option<String> {
        let turns = self.repairs();
        let by_model =
            (turns > 0).then(|| format!("{turns} repair turn{}", if turns == 1 { "" } else { "s" }));
        let by_compiler = self.last_fixed_by_compiler().then(|| "rustc's suggested fixes".to_string());
        let steps: Vec<String> = by_model.into_iter().chain(by_compiler).collect();
        (!steps.is_empty()).then(|| format!("built after {}", steps.join(" and ")))
    }

    /// What to send for the last request: the system message and the
    /// request. A repair request carries what it needs (the errors, the
    /// fixed code, the child's regions), so the first turn is not resent.
    pub(super) fn messages(&self) -> Vec<ChatMessage> {
        let last = self.turns.iter().rev().find(|t| !t.by_compiler).expect("an exchange starts with a turn");
        vec![ChatMessage::system(self.system.clone()), ChatMessage::user(last.asked.clone())]
    }

    /// The frame of the last request's answer.
    pub(super) fn frame(&self) -> Option<AnswerFrame> {
        self.frame.as_ref().map(|f| with_lead(f, self.lead))
    }

    /// The text the prompt log keeps.
    pub(super) fn render(&self) -> String {
        let mut text = format!("# system\n{}\n", self.system);
        let mut repair = 0;
        for (i, turn) in self.turns.iter().enumerate() {
            match i {
                0 => text.push_str(&format!("\n# user\n{}\n", turn.asked)),
                _ if turn.by_compiler => text.push_str(&format!("\n# rustc\n{}\n", turn.asked)),
                _ => {
                    repair += 1;
                    text.push_str(&format!("\n# user (repair turn {repair})\n{}\n", turn.asked));
                }
            }
            if let Some(answer) = &turn.answer {
                text.push_str(&format!("\n# answer\n{answer}\n"));
            }
            match &turn.result {
                Some((outcome, Some(why))) => text.push_str(&format!("\n# result\n{outcome}: {why}\n")),
                Some((outcome, None)) => text.push_str(&format!("\n# result\n{outcome}\n")),
                None => {}
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repair_turn_is_sent_alone_and_is_logged_after_the_first() {
        let mut exchange =
            Exchange::new(&Prompt { system: "sys".into(), user: "improve it".into(), frame: None });
        exchange.answered("```rust\nbroken\n```");
        exchange.resolve(Outcome::BuildFailed, Some("error[E0425]"));
        exchange.resolve(Outcome::Duplicate, Some("ignored: the first result stays"));
        exchange.ask_again("fix error[E0425]".into(), AnswerLead::Fix);
        let sent = exchange.messages();
        assert_eq!(sent.len(), 2);
        assert_eq!((sent[0].content.as_str(), sent[1].content.as_str()), ("sys", "fix error[E0425]"));
        exchange.answered("```rust\nfixed\n```");
        exchange.resolve(Outcome::Improved, None);
        assert_eq!(exchange.repairs(), 1);
        let text = exchange.render();
        let order = [
            "# user\nimprove it",
            "build_failed: error[E0425]",
            "# user (repair turn 1)\nfix",
            "fixed",
            "improved",
        ];
        let at: Vec<usize> =
            order.iter().map(|s| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"))).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(!text.contains("ignored"));
        assert_eq!(exchange.build_path().as_deref(), Some("built after 1 repair turn"));
    }

    #[test]
    fn each_answer_starts_with_the_lead_its_request_asks_for() {
        let frame = AnswerFrame {
            opening: "```rust\n// EVOLVE-BLOCK-START\n".into(),
            stop: vec!["```".into()],
            closing: "```\n".into(),
        };
        let prompt = Prompt { system: "sys".into(), user: "improve it".into(), frame: Some(frame.clone()) };
        let mut exchange = Exchange::new(&prompt);
        assert_eq!(exchange.frame().as_ref(), Some(&frame));
        exchange.answered("```rust\nbroken\n```");
        exchange.ask_again("fix error[E0425]".into(), AnswerLead::Fix);
        let fix = exchange.frame().unwrap();
        assert_eq!(fix.opening, "```rust\n// EVOLVE-BLOCK-START\n// Fix:");
        exchange.answered("```rust\nsame\n```");
        exchange.ask_again("change what it does".into(), AnswerLead::Code);
        assert_eq!(exchange.frame(), Some(frame));
    }

    #[test]
    fn rustcs_fixes_are_a_turn_of_their_own_that_sends_nothing() {
        let mut exchange =
            Exchange::new(&Prompt { system: "sys".into(), user: "improve it".into(), frame: None });
        exchange.answered("let x = 1; x = 2;");
        assert_eq!(exchange.build_path(), None);
        exchange.resolve(Outcome::BuildFailed, Some("error[E0384]"));
        exchange.fixed_by_compiler("`let mut x = 1; x = 2;`");
        exchange.resolve(Outcome::Improved, None);
        assert_eq!(exchange.repairs(), 0);
        assert!(exchange.last_fixed_by_compiler());
        assert_eq!(exchange.build_path().as_deref(), Some("built after rustc's suggested fixes"));
        // A repair turn after it sends its own request, not the rustc turn's text.
        exchange.ask_again("fix error[E0599]".into(), AnswerLead::Fix);
        assert_eq!(exchange.messages()[1].content, "fix error[E0599]");
        exchange.answered("fixed");
        exchange.fixed_by_compiler("`let mut y`");
        assert_eq!(
            exchange.build_path().as_deref(),
            Some("built after 1 repair turn and rustc's suggested fixes")
        );
        let text = exchange.render();
        assert!(
            text.contains("# rustc\n(not sent") && text.contains("# user (repair turn 1)\nfix"),
            "{text}"
        );
    }
}
