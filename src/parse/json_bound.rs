//! JSON Feed read within bounds: the `items` array is read one item at a time, empty items
//! dropped and only [`MAX_ENTRIES`] kept, and every value is a budget of nodes (deeper or
//! longer arrays and objects are cut), so `[{},{},…]` or `[[[[…` never becomes a model
//! many times the size of the body. The kept document is written out again for feed-rs.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::MAX_ENTRIES;

/// Nodes (values) one item may hold; an item has tens, a rich one a few hundred.
const ITEM_NODES: usize = 4096;
/// Nodes all the other top-level members together may hold.
const FEED_NODES: usize = 4096;

/// Fields that give an entry something a reader can use.
const USABLE: &[&str] = &[
    "title",
    "url",
    "external_url",
    "content_html",
    "content_text",
    "summary",
];

/// See the module: the bounded document, empty items dropped, items past the limit.
pub(super) fn bound(text: &str) -> Result<(String, usize, usize), String> {
    let mut items = Items::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let members = Top { items: &mut items }
        .deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(mut members) = members else {
        // Not an object: feed-rs and the lenient reader refuse it as it is.
        return Ok((text.to_string(), 0, 0));
    };
    if items.seen {
        let kept = items.front.into_iter().chain(items.back).collect();
        members.insert("items".into(), Value::Array(kept));
    }
    let out = serde_json::to_string(&Value::Object(members))
        .map_err(|e| format!("writing the bounded feed: {e}"))?;
    Ok((out, items.empty, items.over))
}

/// The items read so far.
#[derive(Default)]
struct Items {
    seen: bool,
    front: Vec<Value>,
    back: VecDeque<Value>,
    empty: usize,
    over: usize,
}

impl Items {
    fn push(&mut self, item: Value) {
        let usable = item.as_object().is_some_and(|o| {
            USABLE
                .iter()
                .any(|k| o.get(*k).is_some_and(|v| !v.is_null()))
        });
        if !usable {
            self.empty += 1;
        } else if self.front.len() < MAX_ENTRIES / 2 {
            self.front.push(item);
        } else {
            // The last half of the limit: the oldest of them makes way.
            if self.back.len() == MAX_ENTRIES - MAX_ENTRIES / 2 {
                self.back.pop_front();
                self.over += 1;
            }
            self.back.push_back(item);
        }
    }
}

/// The top-level object: `items` read item by item, other members within a budget.
/// `None` when the document is not an object.
struct Top<'a> {
    items: &'a mut Items,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Option<Map<String, Value>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Option<Map<String, Value>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON Feed object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let budget = Cell::new(FEED_NODES);
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" && !self.items.seen {
                self.items.seen = true;
                map.next_value_seed(ItemSeq {
                    items: &mut *self.items,
                })?;
            } else {
                let v = map.next_value_seed(Bounded(&budget))?;
                members.insert(key, v);
            }
        }
        Ok(Some(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The `items` array, one item at a time into [`Items`]; anything but an array is
/// read as no items.
struct ItemSeq<'a> {
    items: &'a mut Items,
}

impl<'de> DeserializeSeed<'de> for ItemSeq<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeq<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let budget = Cell::new(ITEM_NODES);
            match seq.next_element_seed(Bounded(&budget))? {
                Some(item) => self.items.push(item),
                None => return Ok(()),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A JSON value of at most as many nodes as the budget holds; past it, array elements
/// and object members are read and dropped.
struct Bounded<'b>(&'b Cell<usize>);

impl Bounded<'_> {
    /// Takes one node from the budget; false when none is left.
    fn take(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left > 0
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while self.take() {
            match seq.next_element_seed(Bounded(self.0))? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while self.take() {
            match map.next_key::<String>()? {
                Some(k) => {
                    let v = map.next_value_seed(Bounded(self.0))?;
                    out.insert(k, v);
                }
                None => return Ok(Value::Object(out)),
            }
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Object(out))
    }
}
