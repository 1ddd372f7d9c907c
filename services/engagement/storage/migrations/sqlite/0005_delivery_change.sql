-- Decision delivery tracking (issue 17): every change of a decision's delivery, in order; the
-- latest is the decision's current delivery. `delivery` is the v1.Delivery as protobuf JSON.
CREATE TABLE delivery_change (
  activity_id TEXT NOT NULL,
  decision_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  delivery TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (activity_id, decision_id, seq)
);
