using FluentValidation;

namespace Gateway.Api.Admin;

/// <summary>Body of <c>POST /admin/services/{service}/instances</c>.</summary>
public sealed record RegisterInstanceRequest(string? Id, string? Address, int? Weight);

public sealed class RegisterInstanceRequestValidator : AbstractValidator<RegisterInstanceRequest>
{
    public RegisterInstanceRequestValidator()
    {
        RuleFor(r => r.Id)
            .Matches("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
            .When(r => r.Id is not null)
            .WithMessage("Id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        RuleFor(r => r.Address)
            .NotEmpty()
            .Must(BeAnHttpBaseAddress)
            .WithMessage("Address must be an absolute http(s) URL without query, fragment or credentials.");
        RuleFor(r => r.Weight)
            .InclusiveBetween(1, 1000)
            .When(r => r.Weight is not null);
    }

    private static bool BeAnHttpBaseAddress(string? address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment) && string.IsNullOrEmpty(uri.UserInfo);
}
