package plan

import "testing"

func TestUnifiedDiff(t *testing.T) {
	a := "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"
	b := "one\ntwo\nthree\nFOUR\nfive\nsix\nseven\neight\nnine\nten\neleven\n"
	want := `--- a/f
+++ b/f
@@ -1,10 +1,11 @@
 one
 two
 three
-four
+FOUR
 five
 six
 seven
 eight
 nine
 ten
+eleven
`
	if got := UnifiedDiff("/f", a, b); got != want {
		t.Errorf("UnifiedDiff() =\n%s\nwant\n%s", got, want)
	}
	// Changes more than 2*3 lines apart get hunks of their own.
	c := "x\n" + a + "1\n2\n3\n4\n5\n6\n7\nend\n"
	d := "y\n" + a + "1\n2\n3\n4\n5\n6\n7\nEND\n"
	if got := UnifiedDiff("/f", c, d); got != "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-x\n+y\n one\n two\n three\n@@ -16,4 +16,4 @@\n 5\n 6\n 7\n-end\n+END\n" {
		t.Errorf("UnifiedDiff(two hunks) = %q", got)
	}
	if got := UnifiedDiff("/f", "", "new\n"); got != "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+new\n" {
		t.Errorf("UnifiedDiff(new file) = %q", got)
	}
	if got := UnifiedDiff("/f", a, a); got != "" {
		t.Errorf("UnifiedDiff(same) = %q, want empty", got)
	}
}
