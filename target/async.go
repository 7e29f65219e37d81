package target

import "context"

// GetOffersAsync starts GetOffers in a goroutine and returns its Future at
// once, so the caller can do other work meanwhile and Wait for the offers
// when it needs them. The call runs under ctx: cancelling ctx ends it.
//
// For the Python SDK's callback style, run the blocking call in a goroutine:
//
//	go func() { resp, err := client.GetOffers(ctx, opts); callback(resp, err) }()
func (c *Client) GetOffersAsync(ctx context.Context, opts GetOffersOptions) *Future[*Response] {
	return runFuture(ctx, func(ctx context.Context) (*Response, error) { return c.GetOffers(ctx, opts) })
}

// SendNotificationsAsync starts SendNotifications in a goroutine and returns
// its Future at once.
func (c *Client) SendNotificationsAsync(ctx context.Context, opts SendNotificationsOptions) *Future[*Response] {
	return runFuture(ctx, func(ctx context.Context) (*Response, error) { return c.SendNotifications(ctx, opts) })
}

// GetAttributesAsync starts GetAttributes in a goroutine and returns its
// Future at once.
func (c *Client) GetAttributesAsync(ctx context.Context, mboxNames []string, opts GetOffersOptions) *Future[*Attributes] {
	return runFuture(ctx, func(ctx context.Context) (*Attributes, error) { return c.GetAttributes(ctx, mboxNames, opts) })
}
