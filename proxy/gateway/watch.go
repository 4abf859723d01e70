package gateway

type watchSession struct{}
