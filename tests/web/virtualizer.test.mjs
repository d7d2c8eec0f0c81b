// The virtualized list's geometry on its own (ui/virtualizer.js): no DOM needed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Virtualizer } from "../../src/peerlane/web/ui/virtualizer.js";

const items = (...keys) => keys.map((key) => ({ key }));
const make = () => new Virtualizer((item) => item.key, { defaultHeight: 50 });

describe("virtualizer", () => {
  test("unmeasured rows take the estimate; measured ones their height; offsets follow", () => {
    const v = make();
    v.setItems(items("a", "b", "c"));
    assert.equal(v.total(), 150);
    assert.equal(v.setHeight("b", 100), true);
    assert.equal(v.setHeight("b", 100.2), false, "sub-pixel noise is no change");
    // The estimate is now the mean measured (100): a and c take it.
    assert.deepEqual([v.offset(0), v.offset(1), v.offset(2), v.total()], [0, 100, 200, 300]);
    assert.equal(v.estimate(), 100);
  });

  test("the estimate is fixed after the first 60 measurements", () => {
    const v = make();
    v.setItems(items(...Array.from({ length: 100 }, (_, i) => `k${i}`)));
    for (let i = 0; i < 60; i++) v.setHeight(`k${i}`, 40);
    const estimate = v.estimate();
    v.setHeight("k60", 400);
    assert.equal(v.estimate(), estimate);
    assert.equal(v.total(), 99 * 40 + 400);
  });

  test("indexAt and range: the rows a viewport shows, with overscan", () => {
    const v = make();
    v.setItems(items("a", "b", "c", "d", "e", "f"));
    assert.equal(v.indexAt(0), 0);
    assert.equal(v.indexAt(49), 0);
    assert.equal(v.indexAt(50), 1);
    assert.equal(v.indexAt(1_000), 6);
    assert.deepEqual(v.range(100, 100, 0), [2, 4]);
    assert.deepEqual(v.range(100, 100, 50), [1, 5]);
    assert.deepEqual(make().range(0, 100, 0), [0, -1], "empty");
  });

  test("the anchor keeps the same content in view when rows are prepended or grow above it", () => {
    const v = make();
    const [c, d] = items("c", "d");
    v.setItems([c, d]);
    v.saveAnchor(70); // 20 px into d
    assert.deepEqual(v.anchor, { key: "d", delta: 20 });
    v.setItems([...items("a", "b"), c, d]); // an older page
    assert.equal(v.anchorTop(), 170);
    v.setHeight("c", 80);
    assert.equal(v.anchorTop(), 80 + 80 + 80 + 20, "the estimate moved to 80 too");
    assert.equal(v.itemOf("d"), d);
  });

  test("newestInView: the newest row in view that qualifies, from the bottom of the viewport up", () => {
    const v = make();
    const rows = [
      { key: "a", seq: 1 },
      { key: "b", seq: 2 },
      { key: "c", seq: null },
      { key: "d", seq: null },
    ];
    v.setItems(rows);
    const seqOf = (r) => (typeof r.seq === "number" ? r.seq : undefined);
    assert.equal(v.newestInView(0, 200, seqOf), 2, "c and d have no seq (unsent)");
    assert.equal(v.newestInView(0, 60, seqOf), 2, "b is partly in view");
    assert.equal(v.newestInView(0, 50, seqOf), 1);
    assert.equal(v.newestInView(110, 90, seqOf), undefined, "only c and d in view");
  });

  test("setItems keeps identical leading items and re-indexes the rest; removed keys are gone", () => {
    const v = make();
    const [a, b, c] = items("a", "b", "c");
    v.setItems([a, b, c]);
    v.setItems([a, c]);
    assert.equal(v.count, 2);
    assert.equal(v.indexOf("c"), 1);
    assert.equal(v.has("b"), false);
    assert.equal(v.keyAt(1), "c");
    v.clear();
    assert.equal(v.count, 0);
    assert.equal(v.anchorTop(), null);
  });
});
