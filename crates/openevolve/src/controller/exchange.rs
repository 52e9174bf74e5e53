//! An iteration's conversation with the LLM: the prompt, each answer, what
//! came of it, and the repair turns that followed a child that did not
//! build. The prompt log keeps it for every iteration, failed ones included,
//! so a user can see what the model said when nothing came of it.

use openevolve_llm::ChatMessage;

use crate::prompt::Prompt;

/// One request and its answer.
#[derive(Debug, Clone)]
struct Turn {
    asked: String,
    /// `None` when the call failed.
    answer: Option<String>,
    /// What came of the answer, in words.
    result: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Exchange {
    system: String,
    turns: Vec<Turn>,
}

impl Exchange {
    pub(super) fn new(prompt: &Prompt) -> Self {
        Self {
            system: prompt.system.clone(),
            turns: vec![Turn { asked: prompt.user.clone(), answer: None, result: None }],
        }
    }

    fn last(&mut self) -> &mut Turn {
        self.turns.last_mut().expect("an exchange starts with a turn")
    }

    /// The model's answer to the last request.
    pub(super) fn answered(&mut self, text: &str) {
        self.last().answer = Some(text.to_string());
    }

    /// What came of the last answer; the first word counts.
    pub(super) fn resolve(&mut self, result: impl Into<String>) {
        let turn = self.last();
        if turn.result.is_none() {
            turn.result = Some(result.into());
        }
    }

    /// A follow-up request to the same model.
    pub(super) fn ask_again(&mut self, request: String) {
        self.turns.push(Turn { asked: request, answer: None, result: None });
    }

    /// Repair turns so far (turns after the first).
    pub(super) fn repairs(&self) -> usize {
        self.turns.len() - 1
    }

    /// What to send for the last request: the system message and the
    /// request. A repair request carries what it needs (the errors, the
    /// fixed code, the child's regions), so the first turn is not resent.
    pub(super) fn messages(&self) -> Vec<ChatMessage> {
        let last = self.turns.last().expect("an exchange starts with a turn");
        vec![ChatMessage::system(self.system.clone()), ChatMessage::user(last.asked.clone())]
    }

    /// The text the prompt log keeps.
    pub(super) fn render(&self) -> String {
        let mut text = format!("# system\n{}\n", self.system);
        for (i, turn) in self.turns.iter().enumerate() {
            match i {
                0 => text.push_str(&format!("\n# user\n{}\n", turn.asked)),
                n => text.push_str(&format!("\n# user (repair turn {n})\n{}\n", turn.asked)),
            }
            if let Some(answer) = &turn.answer {
                text.push_str(&format!("\n# answer\n{answer}\n"));
            }
            if let Some(result) = &turn.result {
                text.push_str(&format!("\n# result\n{result}\n"));
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
        let mut exchange = Exchange::new(&Prompt { system: "sys".into(), user: "improve it".into() });
        exchange.answered("```rust\nbroken\n```");
        exchange.resolve("build_failed: error[E0425]");
        exchange.resolve("ignored: the first result stays");
        exchange.ask_again("fix error[E0425]".into());
        let sent = exchange.messages();
        assert_eq!(sent.len(), 2);
        assert_eq!((sent[0].content.as_str(), sent[1].content.as_str()), ("sys", "fix error[E0425]"));
        exchange.answered("```rust\nfixed\n```");
        exchange.resolve("improved");
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
    }
}
