namespace Warden.Workspace.Seeding;

/// <summary>A country contacts and companies come from, with what the generator derives from it.</summary>
internal sealed record Country(string Code, double Weight, NamePool Names, string Dialling, string LegacyRegion);

/// <summary>
/// First and last names for one language. Every pool has exactly <see cref="Firsts"/> first and
/// <see cref="Lasts"/> last names, so a name can be addressed by one number below
/// <see cref="Combinations"/>; that is how colleagues at one company get distinct names (and so
/// distinct work addresses) without the generator remembering who it already made.
/// </summary>
internal sealed class NamePool
{
    public const int Firsts = 40;
    public const int Lasts = 50;
    public const int Combinations = Firsts * Lasts;

    public NamePool(string language, string[] first, string[] last)
    {
        if (first.Length != Firsts || last.Length != Lasts)
        {
            throw new InvalidOperationException($"the {language} name pool needs {Firsts} first and {Lasts} last names, not {first.Length} and {last.Length}");
        }

        Language = language;
        First = first;
        Last = last;
        FirstAscii = [.. first.Select(Vocabulary.Ascii)];
        LastAscii = [.. last.Select(Vocabulary.Ascii)];
    }

    public string Language { get; }

    public string[] First { get; }

    public string[] Last { get; }

    /// <summary>The names as they appear in an address: lower-case ASCII, no spaces or apostrophes.</summary>
    public string[] FirstAscii { get; }

    public string[] LastAscii { get; }
}

/// <summary>The words the generator builds people and companies from. All of it is invented or common; none of it is a real record.</summary>
internal static class Vocabulary
{
    public static readonly NamePool German = new("German",
        ["Anna", "Lena", "Laura", "Julia", "Sarah", "Lisa", "Katharina", "Sophie", "Marie", "Hannah",
         "Johanna", "Sabine", "Petra", "Claudia", "Monika", "Andrea", "Jana", "Nina", "Franziska", "Miriam",
         "Lukas", "Jonas", "Felix", "Maximilian", "Paul", "Leon", "Tobias", "Florian", "Stefan", "Thomas",
         "Michael", "Andreas", "Markus", "Jürgen", "Uwe", "Matthias", "Sebastian", "Alexander", "Jan", "Niklas"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
         "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
         "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
         "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
         "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel"]);

    public static readonly NamePool English = new("English",
        ["Emma", "Olivia", "Amelia", "Isla", "Grace", "Chloe", "Emily", "Jessica", "Charlotte", "Lucy",
         "Sophia", "Ava", "Mia", "Ella", "Harper", "Abigail", "Madison", "Rachel", "Megan", "Hayley",
         "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
         "James", "Ethan", "Liam", "Mason", "Logan", "Daniel", "Samuel", "Joseph", "David", "Ryan"],
        ["Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Evans", "Wilson", "Johnson", "Roberts",
         "Robinson", "Wright", "Thompson", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis",
         "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
         "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James",
         "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "O'Brien"]);

    public static readonly NamePool French = new("French",
        ["Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Jade", "Louise", "Zoé", "Juliette",
         "Élodie", "Mathilde", "Céline", "Aurélie", "Émilie", "Margaux", "Claire", "Pauline", "Lucie", "Anaïs",
         "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Raphaël", "Nathan", "Théo", "Maxime",
         "Antoine", "Nicolas", "Julien", "Pierre", "François", "Guillaume", "Olivier", "Mathieu", "Romain", "Benoît"],
        ["Marchand", "Bernard", "Dubois", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèbvre", "Michel",
         "Garcin", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre",
         "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Lemaire", "Legrand", "Garnier", "Faure", "Rousseau",
         "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément",
         "Gauthier", "Dumont", "Barbier", "Fontaine", "Chevalier", "Robin", "Masson", "Renard", "Boyer", "Denis"]);

    public static readonly NamePool Dutch = new("Dutch",
        ["Emma", "Julia", "Sophie", "Tess", "Anna", "Fenna", "Sara", "Lotte", "Evi", "Noor",
         "Lieke", "Sanne", "Femke", "Iris", "Anouk", "Maud", "Roos", "Esther", "Marloes", "Ingrid",
         "Daan", "Sem", "Lucas", "Levi", "Finn", "Milan", "Bram", "Thijs", "Jesse", "Ruben",
         "Sven", "Lars", "Joris", "Pieter", "Willem", "Koen", "Bas", "Maarten", "Wouter", "Gert"],
        ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
         "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Pieters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
         "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
         "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "de Bruin", "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet",
         "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom", "Huisman"]);

    public static readonly NamePool Spanish = new("Spanish",
        ["Lucía", "Sofía", "María", "Martina", "Paula", "Julia", "Daniela", "Valeria", "Alba", "Carmen",
         "Elena", "Laura", "Marta", "Cristina", "Raquel", "Beatriz", "Ana", "Isabel", "Inês", "Noelia",
         "Hugo", "Martín", "Pablo", "Álvaro", "Alejandro", "Diego", "Mario", "Javier", "Sergio", "Adrián",
         "Carlos", "Manuel", "José", "Francisco", "Miguel", "Jorge", "Rubén", "Iván", "João", "Tiago"],
        ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Cabrera",
         "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso", "Gutiérrez",
         "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
         "Morales", "Suárez", "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Iglesias",
         "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Sousa", "Carvalho", "Gonçalves"]);

    public static readonly NamePool Italian = new("Italian",
        ["Giulia", "Sofia", "Aurora", "Alice", "Ginevra", "Emma", "Giorgia", "Greta", "Beatrice", "Anna",
         "Chiara", "Francesca", "Federica", "Valentina", "Elisa", "Silvia", "Martina", "Sara", "Ilaria", "Paola",
         "Leonardo", "Francesco", "Alessandro", "Lorenzo", "Mattia", "Andrea", "Gabriele", "Riccardo", "Tommaso", "Edoardo",
         "Marco", "Luca", "Matteo", "Davide", "Stefano", "Giuseppe", "Roberto", "Paolo", "Simone", "Niccolò"],
        ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
         "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costantini", "Giordano", "Rizzo", "Lombardi", "Moretti",
         "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
         "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti",
         "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini"]);

    public static readonly NamePool Nordic = new("Nordic",
        ["Alice", "Maja", "Elsa", "Astrid", "Wilma", "Freja", "Ebba", "Ingrid", "Sigrid", "Saga",
         "Karin", "Linnea", "Ida", "Sofie", "Nora", "Emilie", "Aino", "Helmi", "Liv", "Hanne",
         "Oskar", "Lucas", "William", "Elias", "Hugo", "Axel", "Erik", "Anders", "Lars", "Nils",
         "Magnus", "Henrik", "Mikael", "Johan", "Emil", "Mathias", "Jonas", "Eino", "Onni", "Sindre"],
        ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson", "Gustafsson",
         "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Lindberg", "Lindqvist", "Lindström", "Berg", "Lundgren",
         "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen",
         "Johansen", "Olsen", "Kristiansen", "Halvorsen", "Bakken", "Haugen", "Solberg", "Dahl", "Lie", "Strand",
         "Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen"]);

    public static readonly NamePool Polish = new("Polish",
        ["Zuzanna", "Julia", "Maja", "Zofia", "Hanna", "Lena", "Alicja", "Maria", "Amelia", "Oliwia",
         "Agnieszka", "Katarzyna", "Małgorzata", "Magdalena", "Joanna", "Barbora", "Tereza", "Eliška", "Kateřina", "Monika",
         "Antoni", "Jan", "Jakub", "Aleksander", "Franciszek", "Szymon", "Filip", "Mikołaj", "Wojciech", "Kacper",
         "Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Łukasz", "Jiří", "Petr", "Tomáš", "Ondřej"],
        ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak",
         "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski",
         "Michalski", "Nowicki", "Adamczyk", "Dudek", "Zając", "Wieczorek", "Jabłoński", "Król", "Majewski", "Olszewski",
         "Jaworski", "Wróbel", "Malinowski", "Pawlak", "Witkowski", "Walczak", "Stępień", "Górski", "Rutkowski", "Michalak",
         "Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák", "Němec"]);

    public static readonly NamePool[] Pools = [German, English, French, Dutch, Spanish, Italian, Nordic, Polish];

    // Shares of the contact base by country: a DACH-centred European company with a US arm.
    public static readonly Country[] Countries =
    [
        new("DE", 22, German, "+49", "EMEA-Central"),
        new("US", 14, English, "+1", "NA"),
        new("GB", 10, English, "+44", "EMEA-West"),
        new("FR", 8, French, "+33", "EMEA-West"),
        new("NL", 6, Dutch, "+31", "EMEA-West"),
        new("AT", 5, German, "+43", "EMEA-Central"),
        new("CH", 5, German, "+41", "EMEA-Central"),
        new("ES", 5, Spanish, "+34", "EMEA-South"),
        new("IT", 5, Italian, "+39", "EMEA-South"),
        new("SE", 3, Nordic, "+46", "EMEA-North"),
        new("BE", 2.5, Dutch, "+32", "EMEA-West"),
        new("PL", 2, Polish, "+48", "EMEA-Central"),
        new("DK", 1.5, Nordic, "+45", "EMEA-North"),
        new("IE", 1.5, English, "+353", "EMEA-West"),
        new("CA", 1.5, English, "+1", "NA"),
        new("NO", 1, Nordic, "+47", "EMEA-North"),
        new("FI", 1, Nordic, "+358", "EMEA-North"),
        new("AU", 1, English, "+61", "APAC"),
        new("PT", 1, Spanish, "+351", "EMEA-South"),
        new("CZ", 0.5, Polish, "+420", "EMEA-Central"),
        new("LU", 0.5, French, "+352", "EMEA-West"),
    ];

    /// <summary>Values an old CRM import wrote into legacy_region that no longer follow the country mapping.</summary>
    public static readonly string[] OutdatedRegions = ["EMEA", "Europe", "DACH", "Rest of World"];

    public static readonly string[] JobTitles =
    [
        "Marketing Manager", "Senior Marketing Manager", "Head of Marketing", "Chief Marketing Officer", "VP Marketing",
        "Marketing Operations Specialist", "Marketing Operations Manager", "Demand Generation Manager", "Content Marketing Manager",
        "Product Marketing Manager", "Brand Manager", "Digital Marketing Specialist", "Social Media Manager", "Event Manager",
        "Sales Manager", "Account Executive", "Sales Development Representative", "Head of Sales", "VP Sales", "Director of Sales",
        "Key Account Manager", "Customer Success Manager", "Head of Customer Success", "Purchasing Manager", "Procurement Lead",
        "Buyer", "Category Manager", "Store Manager", "Operations Manager", "Director of Operations", "Head of Operations",
        "Chief Executive Officer", "Managing Director", "Founder", "Co-Founder", "Chief Financial Officer", "Finance Manager",
        "Controller", "IT Manager", "Head of IT", "Chief Technology Officer", "Software Engineer", "Data Analyst",
        "Business Analyst", "Project Manager", "Office Manager", "HR Manager", "Head of People", "Assistant", "Consultant",
    ];

    public static readonly (string Name, double Weight)[] Industries =
    [
        ("Retail", 14), ("Software", 13), ("Manufacturing", 12), ("Sporting Goods", 9), ("Logistics", 7), ("Financial Services", 7),
        ("Healthcare", 6), ("Consulting", 6), ("Hospitality", 6), ("Media", 5), ("Education", 4), ("Energy", 4),
        ("Public Sector", 3), ("Travel", 4),
    ];

    // Company names are prefix + core + descriptor (+ qualifier for the rare repeats); each part is
    // one word list, and no word appears in two lists, so the domain built from them is unique.
    public static readonly string[] CompanyPrefixes =
    [
        "Alder", "Alpine", "Amber", "Anchor", "Arrow", "Aspen", "Atlas", "Aurora", "Beacon", "Birch",
        "Bluefin", "Boulder", "Bright", "Brook", "Cascade", "Cedar", "Cobalt", "Compass", "Copper", "Coral",
        "Crest", "Crimson", "Delta", "Drift", "Eagle", "Ember", "Evergreen", "Falcon", "Fern", "Fjord",
        "Flint", "Forge", "Fox", "Glacier", "Granite", "Greenleaf", "Harbor", "Hawk", "Heath", "Highland",
        "Horizon", "Indigo", "Iron", "Ivy", "Jade", "Juniper", "Kessler", "Keystone", "Lakeside", "Larch",
        "Linden", "Lumen", "Lynx", "Maple", "Meridian", "Moss", "Nimbus", "Northgate", "Oak", "Onyx",
        "Orchard", "Otter", "Pine", "Pioneer", "Polar", "Quarry", "Raven", "Redwood", "Ridge", "River",
        "Sable", "Sage", "Silverline", "Slate", "Spruce", "Stone", "Summit", "Thistle", "Timber", "Willow",
    ];

    public static readonly string[] CompanyCores =
    [
        "Analytics", "Logistics", "Foods", "Systems", "Robotics", "Textiles", "Software", "Energy", "Media", "Consulting",
        "Outfitters", "Health", "Labs", "Works", "Instruments", "Pharma", "Insurance", "Capital", "Mobility", "Materials",
        "Apparel", "Engineering", "Networks", "Hospitality", "Retail", "Interactive", "Biotech", "Solar", "Freight", "Studios",
        "Digital", "Devices", "Chemicals", "Packaging", "Sports", "Travel", "Furniture", "Optics", "Bikes", "Gear",
        "Coffee", "Brewing", "Marine", "Aviation", "Metals", "Plastics", "Print", "Telecom", "Security", "Learning",
    ];

    public static readonly string[] CompanyDescriptors =
        ["", "Group", "Partners", "International", "Holding", "Solutions", "Europe", "Global", "Collective", "Services", "Industries", "Ventures"];

    public static readonly string[] CompanyQualifiers =
        ["", "North", "South", "East", "West", "Central", "Alpine Region", "Atlantic", "Baltic", "Pacific", "Nordics", "Iberia"];

    public static string LegalForm(string country, int choice) => country switch
    {
        "DE" or "AT" => choice % 3 == 0 ? "AG" : "GmbH",
        "CH" => choice % 2 == 0 ? "AG" : "GmbH",
        "US" or "CA" => choice % 3 == 0 ? "LLC" : "Inc.",
        "GB" or "IE" => choice % 4 == 0 ? "plc" : "Ltd",
        "FR" or "LU" => choice % 2 == 0 ? "SAS" : "SA",
        "NL" or "BE" => choice % 3 == 0 ? "N.V." : "B.V.",
        "ES" => choice % 2 == 0 ? "S.L." : "S.A.",
        "PT" => "Lda",
        "IT" => choice % 2 == 0 ? "S.r.l." : "S.p.A.",
        "SE" => "AB",
        "DK" => "A/S",
        "NO" => "AS",
        "FI" => "Oy",
        "PL" => "Sp. z o.o.",
        "CZ" => "s.r.o.",
        "AU" => "Pty Ltd",
        _ => "Ltd",
    };

    /// <summary>Free-mail domains. Every domain the generator writes is under a reserved example name, so no seeded address can reach a real mailbox.</summary>
    public static readonly string[] FreeMailDomains = ["mail.example.com", "inbox.example.net", "post.example.org", "webmail.example.com"];

    /// <summary>The domain of addresses that were suppressed and whose contacts were erased since; no contact uses it.</summary>
    public const string ErasedMailDomain = "erased.example.net";

    public static readonly string[] PlusTags = ["events", "tradeshow", "news", "crm", "work"];

    public static readonly string[] SalesReps =
    [
        "jonas.weber@northwind.example", "olivia.hughes@northwind.example", "ethan.brooks@northwind.example",
        "claire.dubois@northwind.example", "lucia.romano@northwind.example", "erik.lindqvist@northwind.example",
        "partners@northwind.example", "inside-sales@northwind.example",
    ];

    /// <summary>Lower-case ASCII for an e-mail local part or a domain label: umlauts spelled out, accents dropped, spaces and apostrophes removed.</summary>
    public static string Ascii(string text)
    {
        var builder = new System.Text.StringBuilder(text.Length + 4);
        foreach (var ch in text.ToLowerInvariant())
        {
            switch (ch)
            {
                case 'ä' or 'æ': builder.Append("ae"); break;
                case 'ö' or 'ø': builder.Append("oe"); break;
                case 'ü': builder.Append("ue"); break;
                case 'ß': builder.Append("ss"); break;
                case 'á' or 'à' or 'â' or 'ã' or 'å': builder.Append('a'); break;
                case 'é' or 'è' or 'ê' or 'ë' or 'ě': builder.Append('e'); break;
                case 'í' or 'ì' or 'î' or 'ï': builder.Append('i'); break;
                case 'ó' or 'ò' or 'ô' or 'õ': builder.Append('o'); break;
                case 'ú' or 'ù' or 'û' or 'ů': builder.Append('u'); break;
                case 'ç' or 'ć' or 'č': builder.Append('c'); break;
                case 'ñ' or 'ń': builder.Append('n'); break;
                case 'ł': builder.Append('l'); break;
                case 'ś' or 'š': builder.Append('s'); break;
                case 'ź' or 'ż' or 'ž': builder.Append('z'); break;
                case 'ř': builder.Append('r'); break;
                case 'ý': builder.Append('y'); break;
                case 'ą': builder.Append('a'); break;
                case 'ę': builder.Append('e'); break;
                case ' ' or '\'' or '-' or '.': break;
                default: builder.Append(ch); break;
            }
        }

        return builder.ToString();
    }
}
