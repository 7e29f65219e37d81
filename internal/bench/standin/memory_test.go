package standin

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMemoryAnswersItsBytesAndReadsTheRequest(t *testing.T) {
	body := strings.NewReader(`{"context":{"channel":"web"}}`)
	req, err := http.NewRequest(http.MethodPost, "http://stand.in/rest/v1/delivery", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Memory(Answer).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		resp.ContentLength != int64(len(Answer)) || string(got) != string(Answer) || resp.Request != req {
		t.Errorf("answer: status %d, type %q, length %d, body %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, got)
	}
	if body.Len() != 0 {
		t.Errorf("%d bytes of the request left unread", body.Len())
	}
}
