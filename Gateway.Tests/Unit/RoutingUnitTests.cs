using Gateway.Core.Forwarding;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Primitives;

namespace Gateway.Tests.Unit;

public sealed class RoutingUnitTests
{
    [Theory]
    [InlineData("/api/v1/quotes/x", "/quotes/x")]
    [InlineData("/api/v1/quotes", "/quotes")]
    [InlineData("/api/v1/quotes/a/b/c", "/quotes/a/b/c")]
    public void Remove_prefix_strips_the_prefix_only(string path, string expected)
    {
        var transform = PathTransform.Create(RoutePatternFactory.Parse("/api/v1/quotes/{**rest}"), new PathTransformConfig { PathRemovePrefix = "/api/v1" });
        transform.Apply(new PathString(path), new RouteValueDictionary()).Value.Should().Be(expected);
        transform.TargetPrefix.Should().Be("/quotes");
    }

    [Theory]
    [InlineData("items/42", "/api/catalog/items/42")]
    [InlineData("a/b/c", "/api/catalog/a/b/c")]
    [InlineData("", "/api/catalog")]
    public void A_pattern_is_filled_from_the_route_values(string rest, string expected)
    {
        var transform = PathTransform.Create(RoutePatternFactory.Parse("/api/admin/catalog/{**rest}"), new PathTransformConfig { PathPattern = "/api/catalog/{**rest}" });
        transform.Apply(new PathString("/ignored"), new RouteValueDictionary { ["rest"] = rest }).Value.Should().Be(expected);
        transform.TargetPrefix.Should().Be("/api/catalog");
    }

    [Fact]
    public void Without_a_transform_the_path_passes_as_it_is()
    {
        var transform = PathTransform.Create(RoutePatternFactory.Parse("/api/cart/{**rest}"), null);
        transform.Apply(new PathString("/api/cart/1"), new RouteValueDictionary()).Value.Should().Be("/api/cart/1");
        transform.TargetPrefix.Should().Be("/api/cart");
    }

    [Theory]
    // route pattern, transform ("-" none, "/x" a prefix removed, "=/p" a pattern), instance base, Location sent, Location the client gets ("-" as sent)
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080", "/contracts/k-1", "/api/v1/contracts/k-1")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080", "/contracts", "/api/v1/contracts")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080", "/contractsX/1", "-")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080", "HTTP://10.0.0.5:8080?x=1", "/?x=1")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080", "http://10.0.0.5:80801/contracts/1", "-")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080", "//evil.example/contracts/1", "-")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080/base", "/base/contracts/1", "/api/v1/contracts/1")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080/base", "http://10.0.0.5:8080/base/contracts/1", "/api/v1/contracts/1")]
    [InlineData("/api/v1/contracts/{**rest}", "/api/v1", "http://10.0.0.5:8080/base", "/contracts/1", "-")]
    [InlineData("/api/v1/{**rest}", "/api/v1", "http://10.0.0.5:8080", "/anything/1", "/api/v1/anything/1")]
    [InlineData("/{**rest}", "/api", "http://10.0.0.5:8080", "/x", "-")]
    [InlineData("/api/admin/catalog/{**rest}", "=/api/catalog/{**rest}", "http://10.0.0.5:8080", "/api/catalog/7", "/api/admin/catalog/7")]
    [InlineData("/api/users/{id}/orders", "=/orders/{id}", "http://10.0.0.5:8080", "/orders/7", "-")]
    [InlineData("/api/users/{id}/orders", "=/orders/{id}", "http://10.0.0.5:8080", "http://10.0.0.5:8080/orders/7", "/orders/7")]
    [InlineData("/api/cart/{**rest}", "-", "http://10.0.0.5:8080", "http://10.0.0.5:8080/api/cart/1", "/api/cart/1")]
    [InlineData("/api/cart/{**rest}", "-", "http://10.0.0.5:8080", "/api/cart/1", "/api/cart/1")]
    public void An_upstream_location_is_mapped_back_through_the_route(string route, string transform, string instance, string sent, string expected)
    {
        var config = transform switch
        {
            "-" => null,
            ['=', .. var pattern] => new PathTransformConfig { PathPattern = pattern },
            _ => new PathTransformConfig { PathRemovePrefix = transform },
        };
        var mapped = UpstreamLocation.ToClient(sent, instance, PathTransform.Create(RoutePatternFactory.Parse(route), config));
        (mapped ?? "-").Should().Be(expected);
    }

    [Theory]
    // With PreserveHost the upstream builds its URLs from the client's Host (gw.example here), either scheme.
    [InlineData("https://gw.example/contracts/k-1", "/api/v1/contracts/k-1")]
    [InlineData("http://GW.example/contracts/k-1?x=1", "/api/v1/contracts/k-1?x=1")]
    [InlineData("https://gw.example/other", "/other")]
    [InlineData("https://gw.example", "/")]
    [InlineData("https://gw.example.evil/contracts/k-1", "-")]
    [InlineData("https://elsewhere.example/contracts/k-1", "-")]
    public void With_the_clients_host_sent_upstream_urls_on_that_host_are_mapped_too(string sent, string expected)
    {
        var transform = PathTransform.Create(RoutePatternFactory.Parse("/api/v1/contracts/{**rest}"), new PathTransformConfig { PathRemovePrefix = "/api/v1" });
        (UpstreamLocation.ToClient(sent, "http://10.0.0.5:8080", transform, clientHost: "gw.example") ?? "-").Should().Be(expected);
        (UpstreamLocation.ToClient(sent, "http://10.0.0.5:8080", transform) ?? "-").Should().Be("-", "without PreserveHost the client's Host means nothing to the upstream");
    }

    [Theory]
    // Set-Cookie sent by an instance at http://10.0.0.5:8080 on a route that strips /api/v1, and what the client gets ("-" as sent)
    [InlineData("sid=abc; Path=/contracts; HttpOnly", "sid=abc; Path=/api/v1/contracts; HttpOnly")]
    [InlineData("sid=abc; path=/contracts/k-1/; Secure", "sid=abc; Path=/api/v1/contracts/k-1/; Secure")]
    [InlineData("sid=abc; Path=/", "-")]
    [InlineData("sid=abc; Path=/other", "-")]
    [InlineData("sid=abc", "-")]
    [InlineData("sid=abc; Domain=10.0.0.5; Path=/contracts", "sid=abc; Path=/api/v1/contracts")]
    [InlineData("sid=abc; Domain=.10.0.0.5", "sid=abc")]
    [InlineData("sid=abc; Domain=shop.example", "-")]
    [InlineData("sid=a;b; Path=/contracts", "sid=a;b; Path=/api/v1/contracts")]
    [InlineData("sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/contracts; SameSite=Lax", "sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/api/v1/contracts; SameSite=Lax")]
    public void An_upstream_cookie_is_put_in_the_clients_terms(string sent, string expected)
    {
        var transform = PathTransform.Create(RoutePatternFactory.Parse("/api/v1/contracts/{**rest}"), new PathTransformConfig { PathRemovePrefix = "/api/v1" });
        (UpstreamCookie.ToClient(sent, "http://10.0.0.5:8080", transform) ?? "-").Should().Be(expected);
    }

    [Theory]
    [InlineData("Connection", true)]
    [InlineData("keep-alive", true)]
    [InlineData("Proxy-Connection", true)]
    [InlineData("TE", true)]
    [InlineData("Trailer", true)]
    [InlineData("Transfer-Encoding", true)]
    [InlineData("Upgrade", true)]
    [InlineData("Content-Type", false)]
    [InlineData("X-Custom", false)]
    public void Hop_by_hop_headers_are_known(string name, bool hopByHop) => HeaderRules.IsHopByHop(name).Should().Be(hopByHop);

    [Fact]
    public void Headers_named_in_Connection_are_hop_by_hop_too()
    {
        HeaderRules.IsNamedIn(new StringValues("keep-alive, X-Secret"), "x-secret").Should().BeTrue();
        HeaderRules.IsNamedIn(new StringValues("close"), "X-Secret").Should().BeFalse();
    }

    [Theory]
    [InlineData("abc-123_DEF.x", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("tab\there", false)]
    [InlineData("é", false)]
    public void Only_short_visible_tokens_are_sane(string value, bool sane) => HeaderRules.IsSaneToken(value).Should().Be(sane);

    [Theory]
    [InlineData("user-1", true)]
    [InlineData("Jo\u00e3o da Silva", true)]
    [InlineData("tab\there", true)]
    [InlineData("a\r\nX-Evil: 1", false)]
    [InlineData("a\nb", false)]
    [InlineData("a\u0000b", false)]
    [InlineData("a\u001fb", false)]
    [InlineData("a\u007fb", false)]
    public void A_made_up_header_value_has_no_control_character_but_tab(string value, bool valid) =>
        HeaderRules.IsFieldValue(value).Should().Be(valid);

    [Theory]
    [InlineData(200, false, false)]
    [InlineData(200, true, true)]
    [InlineData(204, false, true)]
    [InlineData(205, false, true)]
    [InlineData(304, false, false)]
    public void A_content_length_is_relayed_only_where_it_measures_the_content(int status, bool transferEncoded, bool dropped) =>
        HeaderRules.DropsContentLength(status, transferEncoded).Should().Be(dropped);

    [Theory]
    [InlineData(200, "GET", false)]
    [InlineData(200, "HEAD", true)]
    [InlineData(204, "GET", true)]
    [InlineData(205, "POST", true)]
    [InlineData(304, "GET", true)]
    [InlineData(404, "GET", false)]
    public void Some_answers_carry_no_content(int status, string method, bool none) => HeaderRules.HasNoContent(status, method).Should().Be(none);

    [Fact]
    public void A_token_of_129_characters_is_not_sane() => HeaderRules.IsSaneToken(new string('a', 129)).Should().BeFalse();

    [Theory]
    [InlineData("/quotes/a", true)]
    [InlineData("/quotes/a b", true)]
    [InlineData("/quotes/../x", false)]
    [InlineData("/quotes/./x", false)]
    [InlineData("/quotes/%2Fx", false)]
    [InlineData("/quotes/%2e", false)]
    [InlineData("/quotes/a\\b", false)]
    [InlineData("/quotes/a\u0001", false)]
    public void Paths_that_could_be_decoded_again_are_unsafe(string path, bool safe) => UpstreamPath.IsSafe(new PathString(path)).Should().Be(safe);

    [Theory]
    [InlineData("/quotes", "/quotes", true)]
    [InlineData("/quotes/x", "/quotes", true)]
    [InlineData("/quotesx", "/quotes", false)]
    [InlineData("/admin", "/quotes", false)]
    public void The_upstream_path_must_stay_under_the_target(string path, string prefix, bool under) =>
        UpstreamPath.IsUnder(new PathString(path), prefix).Should().Be(under);
}

public sealed class HeaderMatchUnitTests
{
    private static Microsoft.AspNetCore.Http.HttpRequest Request(string? header = null, string query = "")
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.QueryString = new Microsoft.AspNetCore.Http.QueryString(query);
        if (header is not null)
        {
            context.Request.Headers["X-Channel"] = header;
        }

        return context.Request;
    }

    [Theory]
    [InlineData(MatchMode.NotExists, false, new string[0], null, true)]
    [InlineData(MatchMode.NotExists, false, new string[0], "x", false)]
    [InlineData(MatchMode.Exact, true, new[] { "Beta" }, "beta", false)]
    [InlineData(MatchMode.Exact, true, new[] { "Beta" }, "Beta", true)]
    [InlineData(MatchMode.Exact, false, new[] { "beta" }, "beta-2", false)]
    [InlineData(MatchMode.Prefix, false, new[] { "BETA" }, "beta-2", true)]
    [InlineData(MatchMode.Prefix, true, new[] { "BETA" }, "beta-2", false)]
    [InlineData(MatchMode.Contains, false, new[] { "MOBILE" }, "app-mobile-ios", true)]
    [InlineData(MatchMode.Contains, true, new[] { "MOBILE" }, "app-mobile-ios", false)]
    [InlineData(MatchMode.NotContains, false, new[] { "bot" }, "Mozilla/5.0", true)]
    [InlineData(MatchMode.NotContains, false, new[] { "bot" }, "Googlebot/2.1", false)]
    [InlineData(MatchMode.NotContains, false, new[] { "bot" }, null, true)]
    [InlineData(MatchMode.NotContains, false, new[] { "bot" }, "", true)]
    [InlineData(MatchMode.Exists, false, new string[0], "", false)]
    [InlineData(MatchMode.NotExists, false, new string[0], "", true)]
    [InlineData(MatchMode.Exact, false, new[] { "beta" }, "stable, beta", true)]
    [InlineData(MatchMode.Exact, false, new[] { "beta" }, "stable,\t\"beta\" ", true)]
    [InlineData(MatchMode.Exact, false, new[] { "beta" }, "\"stable,beta\"", false)]
    [InlineData(MatchMode.Exact, false, new[] { "stable,beta" }, "\"stable,beta\"", true)]
    [InlineData(MatchMode.Exact, false, new[] { "stable, beta" }, "stable, beta", false)]
    [InlineData(MatchMode.Prefix, false, new[] { "beta" }, "stable, beta-2", true)]
    [InlineData(MatchMode.Prefix, false, new[] { "beta" }, "stable-beta", false)]
    [InlineData(MatchMode.Contains, false, new[] { "e, b" }, "stable, beta", true)]
    public void A_condition_is_met_by_the_headers_value_as_its_mode_says(MatchMode mode, bool caseSensitive, string[] values, string? sent, bool met)
    {
        var metadata = new RequestMatchMetadata("r", [new MatchConditionConfig { Name = "X-Channel", Mode = mode, IsCaseSensitive = caseSensitive, Values = values }], []);
        metadata.Matches(Request(sent)).Should().Be(met);
    }

    [Fact]
    public void A_header_sent_twice_meets_a_condition_when_one_of_its_values_does()
    {
        var metadata = new RequestMatchMetadata("r", [new MatchConditionConfig { Name = "X-Channel", Values = ["beta"] }], []);
        var request = Request();
        request.Headers["X-Channel"] = new Microsoft.Extensions.Primitives.StringValues(["stable", "beta"]);
        metadata.Matches(request).Should().BeTrue();
    }

    [Theory]
    [InlineData("a=1; canary=yes", true)]
    [InlineData("canary=yes;a=1", true)]
    [InlineData("a=1, canary=yes", false)]
    public void A_cookie_header_is_a_list_split_on_semicolons(string cookie, bool met)
    {
        var metadata = new RequestMatchMetadata("r", [new MatchConditionConfig { Name = "Cookie", Values = ["canary=yes"] }], []);
        var request = Request();
        request.Headers.Cookie = cookie;
        metadata.Matches(request).Should().Be(met);
    }

    [Theory]
    [InlineData(MatchMode.Exact, new[] { "2" }, "?v=1,2", false)]
    [InlineData(MatchMode.Exact, new[] { "2" }, "?v=%202", false)]
    [InlineData(MatchMode.NotContains, new[] { "x" }, "?w=1", true)]
    [InlineData(MatchMode.NotContains, new[] { "x" }, "?v=axb", false)]
    [InlineData(MatchMode.Exact, new[] { "2" }, "?v=2", true)]
    [InlineData(MatchMode.Exact, new[] { "2" }, "?V=2", true)]
    [InlineData(MatchMode.Exact, new[] { "2" }, "?v=20", false)]
    [InlineData(MatchMode.Prefix, new[] { "2" }, "?v=20", true)]
    [InlineData(MatchMode.Exists, new string[0], "?v", true)]
    [InlineData(MatchMode.Exists, new string[0], "?w=1", false)]
    [InlineData(MatchMode.NotExists, new string[0], "?w=1", true)]
    [InlineData(MatchMode.NotExists, new string[0], "?v=", false)]
    public void A_query_condition_is_met_by_the_parameters_decoded_value_as_its_mode_says(MatchMode mode, string[] values, string query, bool met)
    {
        var metadata = new RequestMatchMetadata("r", [], [new MatchConditionConfig { Name = "v", Mode = mode, Values = values }]);
        metadata.Matches(Request(query: query)).Should().Be(met);
    }

    [Fact]
    public void Header_and_query_conditions_must_all_be_met()
    {
        var metadata = new RequestMatchMetadata("r", [new MatchConditionConfig { Name = "X-Channel", Values = ["beta"] }], [new MatchConditionConfig { Name = "v", Values = ["2"] }]);

        metadata.Count.Should().Be(2);
        metadata.Matches(Request("beta", "?v=2")).Should().BeTrue();
        metadata.Matches(Request("beta", "?v=1")).Should().BeFalse();
        metadata.Matches(Request("stable", "?v=2")).Should().BeFalse();
    }
}
