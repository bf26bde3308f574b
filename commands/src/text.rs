//! A message to show a member, before it is put into their language: a Fluent message ID and its
//! arguments. The pure layer decides *what* to say; `render` decides how it reads in `en` or `ru`.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Str(String),
    /// Numbers select plural forms (`1 supporter`, `2 сторонника`).
    Int(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub id: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

impl Text {
    pub fn new(id: &'static str) -> Text {
        Text { id, args: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Text {
        self.args.push((name, Arg::Str(value.to_string())));
        self
    }

    pub fn num(mut self, name: &'static str, value: i64) -> Text {
        self.args.push((name, Arg::Int(value)));
        self
    }
}
